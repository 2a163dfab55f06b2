// The allocator interface the interposition layer drives.
//
// One engine is chosen at start-up and serves every allocation for the life of the process.
// The interposition layer owns the C and C++ semantics (argument validation, errno, overflow
// checks, realloc(p, 0), alignment rounding, the bootstrap arena), so an engine sees only
// well-formed requests:
//   - sizes never exceed PTRDIFF_MAX; Allocate(0) must return a unique freeable pointer;
//   - alignments passed to AllocateAligned are powers of two greater than 16;
//   - pointers passed to Free/Reallocate/UsableSize are non-null and were not served by the
//     bootstrap arena (they may still be foreign: an engine decides what it owns).
// Free must leave errno as it found it (free() never changes errno).
// A failed allocation returns nullptr; the caller sets errno. Engines know nothing of tracing.
#ifndef POOLSCOPE_SRC_ENGINE_ENGINE_H_
#define POOLSCOPE_SRC_ENGINE_ENGINE_H_

#include <malloc.h>

#include <cstddef>
#include <cstdint>

#include "common/config.h"
#include "common/engine_kind.h"

namespace poolscope::engine {

// Finds the word an engine keeps for a block (see Engine::EnableBlockTags); null for blocks it
// keeps none for.
using BlockTagSlotOf = uint64_t* (*)(const void* block);

class Engine {
 public:
  // Returns false (after logging why) when the engine cannot run in this process; the caller
  // then falls back to another engine. Runs inside the first allocation: must not allocate.
  virtual bool Init(const common::Config& config) = 0;

  virtual void* Allocate(size_t size) = 0;
  virtual void* AllocateZeroed(size_t size) = 0;
  virtual void* AllocateAligned(size_t alignment, size_t size) = 0;
  // size > 0. On failure returns nullptr and leaves `ptr` valid.
  virtual void* Reallocate(void* ptr, size_t size) = 0;
  virtual void Free(void* ptr) = 0;
  virtual size_t UsableSize(void* ptr) = 0;

  // The glibc introspection surface (mallinfo2, malloc_trim, mallopt, malloc_stats,
  // malloc_info), answered for this engine's own heap.
  virtual struct mallinfo2 Info() = 0;
  virtual int Trim(size_t pad) = 0;
  virtual int SetOption(int param, int value) = 0;
  virtual void PrintStats() = 0;
  virtual int WriteInfoXml(int options, FILE* out) = 0;

  // pthread_atfork handlers: the engine's locks are taken before fork and released after it,
  // so the child never inherits a lock held by a thread that does not exist there.
  virtual void ForkPrepare() {}
  virtual void ForkParent() {}
  virtual void ForkChild() {}

  // From now on the engine's inline paths (engine/fast_path.h) may serve calls inside the
  // generic path, and, with `at_entry_points`, at the entry points themselves. The interposer
  // calls this once, after Init; `at_entry_points` only when no call needs to be counted or
  // recorded, since the entry points' fast paths bypass the generic path that does both.
  virtual void EnableFastPath(bool /*at_entry_points*/) {}

  // glibc-compatible malloc and free the interposer may call in place of Allocate and Free
  // when it has nothing to count or record in full (see interpose/allocation.h): each behaves
  // exactly as the C function of its name for every argument (null, sizes above PTRDIFF_MAX,
  // errno), except that free must not see the bootstrap arena's blocks. Null members: the
  // engine has none (its calls keep going through this interface).
  struct DirectFunctions {
    void* (*malloc)(size_t) = nullptr;
    void (*free)(void*) = nullptr;
  };
  virtual DirectFunctions Direct() const { return {}; }

  // A 64-bit word per block, for the caller to keep what it likes in (the recorder's block
  // keys), for the blocks the engine can find one for by arithmetic: reserves the words and
  // returns how to find them, or null when the engine has none. Called at most once, at
  // start-up, and only when the words will be used: they cost address space.
  virtual BlockTagSlotOf EnableBlockTags() { return nullptr; }

  // Sampled recording: where the block at `ptr` (`size` bytes asked for, at `alignment`) must
  // live for its free to reach the generic path, which records it. Returns the block to use:
  // `ptr` itself when it is there already, another block (with `ptr`'s first `size` bytes
  // when `keep_contents`) after freeing `ptr`, or null when there is no other block (`ptr` is
  // then untouched, and must not be sampled).
  virtual void* MoveSampledBlock(void* ptr, size_t /*size*/, size_t /*alignment*/,
                                 bool /*keep_contents*/) {
    return ptr;
  }
  // Frees a block MoveSampledBlock returned, skipping the checks an unknown pointer needs.
  virtual void FreeSampledBlock(void* ptr) { Free(ptr); }

  virtual common::EngineKind kind() const = 0;

 protected:
  ~Engine() = default;  // engines are static objects, never deleted through the interface
};

// The engine of `kind`, not yet initialised. Never allocates.
Engine* EngineFor(common::EngineKind kind);

}  // namespace poolscope::engine

#endif  // POOLSCOPE_SRC_ENGINE_ENGINE_H_
