// The bootstrap arena: serves allocations that arrive before an engine is ready.
//
// Those come from constructors of libraries initialised before ours, from dlsym while the libc
// engine resolves glibc's functions, and from other threads while one thread initialises (they
// must not wait: the initialising thread may need a lock they hold, such as the loader's).
// It is a bump allocator over a static region, lock-free, never reused: freeing a bootstrap
// block does nothing. Each block is preceded by a header holding its size, so realloc and
// malloc_usable_size work on it. Ownership is one range check.
#ifndef POOLSCOPE_SRC_INTERPOSE_BOOTSTRAP_H_
#define POOLSCOPE_SRC_INTERPOSE_BOOTSTRAP_H_

#include <cstddef>
#include <cstdint>

namespace poolscope::interpose::bootstrap {

inline constexpr size_t kArenaBytes = size_t{8} << 20;
// Blocks are aligned like glibc's (16 bytes); larger alignments up to a page are honoured.
inline constexpr size_t kMinAlignment = 16;
inline constexpr size_t kMaxAlignment = 4096;

extern char arena[kArenaBytes];

inline bool Owns(const void* ptr) {
  return reinterpret_cast<uintptr_t>(ptr) - reinterpret_cast<uintptr_t>(arena) < kArenaBytes;
}

// Returns zeroed memory (the arena is never reused), or nullptr when the arena is exhausted or
// the alignment is above kMaxAlignment.
void* Allocate(size_t size, size_t alignment = kMinAlignment);

// The size requested for a block that Owns().
size_t SizeOf(const void* ptr);

// Bytes handed out so far, headers and padding included.
size_t BytesUsed();

}  // namespace poolscope::interpose::bootstrap

#endif  // POOLSCOPE_SRC_INTERPOSE_BOOTSTRAP_H_
