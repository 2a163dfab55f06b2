// Memory-mapping calls that go straight to the kernel.
//
// The library exports mmap, munmap and mremap (to record the program's own mappings); its own
// mappings — the engine's segments, the recorder's buffers — must not pass through those
// wrappers, so everything inside the library maps memory through these instead. Same contract
// as the libc functions: MAP_FAILED / -1 with errno set on failure.
#ifndef POOLSCOPE_SRC_COMMON_RAW_SYSCALLS_H_
#define POOLSCOPE_SRC_COMMON_RAW_SYSCALLS_H_

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>

namespace poolscope::common {

inline void* RawMmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  long r = syscall(SYS_mmap, addr, length, prot, flags, fd, offset);
  return r == -1 ? MAP_FAILED : reinterpret_cast<void*>(r);
}

inline int RawMunmap(void* addr, size_t length) {
  return static_cast<int>(syscall(SYS_munmap, addr, length));
}

inline void* RawMremap(void* old_address, size_t old_size, size_t new_size, int flags,
                       void* new_address = nullptr) {
  long r = syscall(SYS_mremap, old_address, old_size, new_size, flags, new_address);
  return r == -1 ? MAP_FAILED : reinterpret_cast<void*>(r);
}

}  // namespace poolscope::common

#endif  // POOLSCOPE_SRC_COMMON_RAW_SYSCALLS_H_
