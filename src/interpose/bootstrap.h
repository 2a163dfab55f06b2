// The bootstrap arena: serves allocations that arrive before an engine is ready.
//
// Those come from constructors of libraries initialised before ours, from dlsym while the libc
// engine resolves glibc's functions, and from other threads while one thread initialises (they
// must not wait: the initialising thread may need a lock they hold, such as the loader's).
// A lock-free bump arena over a static region: freeing a bootstrap block does nothing.
#ifndef POOLSCOPE_SRC_INTERPOSE_BOOTSTRAP_H_
#define POOLSCOPE_SRC_INTERPOSE_BOOTSTRAP_H_

#include <cstddef>
#include <cstdint>

#include "common/bump_arena.h"

namespace poolscope::interpose::bootstrap {

inline constexpr size_t kArenaBytes = size_t{8} << 20;
inline constexpr size_t kMinAlignment = common::BumpArena::kMinAlignment;
inline constexpr size_t kMaxAlignment = common::BumpArena::kMaxAlignment;

extern char arena_memory[kArenaBytes];
extern common::BumpArena arena;

// Against the array itself (an address the linker fixes), not the arena object: one
// subtraction and a compare on every free.
inline bool Owns(const void* ptr) {
  return reinterpret_cast<uintptr_t>(ptr) - reinterpret_cast<uintptr_t>(arena_memory) < kArenaBytes;
}
inline void* Allocate(size_t size, size_t alignment = kMinAlignment) {
  return arena.Allocate(size, alignment);
}
inline size_t SizeOf(const void* ptr) { return common::BumpArena::SizeOf(ptr); }
inline size_t BytesUsed() { return arena.BytesUsed(); }

}  // namespace poolscope::interpose::bootstrap

#endif  // POOLSCOPE_SRC_INTERPOSE_BOOTSTRAP_H_
