// The program's own memory mappings, recorded (anonymous memory outside malloc is memory too).
// Each goes straight to the kernel, exactly as glibc's wrapper would, and the library's own
// mappings never come through here (they use common/raw_syscalls.h); those of the unwinder it
// loads do, and are left out (trace/unwinder.h).
//
// With 64-bit file offsets (as meson builds) glibc's headers rename mmap to mmap64; this unit
// defines both names itself, so it sees the plain declarations.
#undef _FILE_OFFSET_BITS
#include <stdarg.h>
#include <sys/mman.h>

#include "common/raw_syscalls.h"
#include "interpose/export.h"
#include "trace/recorder.h"
#include "trace/unwinder.h"

namespace tr = poolscope::trace;

namespace {

// Called first thing in an entry point, for its own return address.
[[gnu::always_inline]] inline bool ProgramCall(void* return_address) {
  return !tr::InUnwinder(reinterpret_cast<uintptr_t>(return_address));
}

}  // namespace

POOLSCOPE_EXPORT void* mmap(void* addr, size_t length, int prot, int flags, int fd,
                            off_t offset) noexcept {
  void* p = poolscope::common::RawMmap(addr, length, prot, flags, fd, offset);
  if (tr::recording && p != MAP_FAILED && ProgramCall(__builtin_return_address(0))) [[unlikely]] {
    tr::RecordMmap(p, length, prot, flags, fd);
  }
  return p;
}

// On x86-64 off_t and off64_t are both 64 bits: the same function under glibc's other name.
POOLSCOPE_EXPORT void* mmap64(void* addr, size_t length, int prot, int flags, int fd,
                              off64_t offset) noexcept POOLSCOPE_ALIAS(mmap);

POOLSCOPE_EXPORT int munmap(void* addr, size_t length) noexcept {
  // Recorded first: once unmapped, another thread may map the same range and record it.
  if (tr::recording && ProgramCall(__builtin_return_address(0))) [[unlikely]] {
    tr::RecordMunmap(addr, length);
  }
  return poolscope::common::RawMunmap(addr, length);
}

POOLSCOPE_EXPORT void* mremap(void* old_address, size_t old_size, size_t new_size, int flags,
                              ...) noexcept {
  void* new_address = nullptr;
  if (flags & MREMAP_FIXED) {
    va_list args;
    va_start(args, flags);
    new_address = va_arg(args, void*);
    va_end(args);
  }
  void* p = poolscope::common::RawMremap(old_address, old_size, new_size, flags, new_address);
  if (tr::recording && p != MAP_FAILED && ProgramCall(__builtin_return_address(0))) [[unlikely]] {
    tr::RecordMremap(old_address, old_size, p, new_size);
  }
  return p;
}
