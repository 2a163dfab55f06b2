// The pool engine's fast paths, inlined into the entry points (through engine/fast_path.h):
// a small allocation from the thread's current page, and the free of any pooled block. No
// virtual call, no lock, no atomic operation when the block is the thread's own.
//
// They serve nothing until PoolEngine::EnableFastPath sets `fast_path` (the interposer does
// when no call needs to be counted or recorded): until then the limits are zero, so the size
// test and the range test that every call makes anyway fail, and the caller takes the generic
// path. A miss (empty page, pointer outside the arena) also returns to the generic path.
#ifndef POOLSCOPE_SRC_ENGINE_POOL_FAST_PATH_H_
#define POOLSCOPE_SRC_ENGINE_POOL_FAST_PATH_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "engine/pool/arena.h"
#include "engine/pool/heap.h"
#include "engine/pool/page.h"

namespace poolscope::engine::pool {

struct FastPathLimits {
  // Sizes below this are served by TryAllocate: kMaxSmallSize + 1 once enabled.
  std::atomic<size_t> allocation_limit{0};
  // The arena's range as TryFree tests it: empty until enabled.
  uintptr_t base = 0;
  std::atomic<size_t> range{0};
};
extern FastPathLimits fast_path;

[[gnu::cold, gnu::noinline]] void ReportBadBlock(Page* page, void* p, const char* call, bool freed);

// The block `p` points to, or null (after reporting) when `p` is not a block start in use.
// Kept small and inline: it is on every free. One multiply by the page's reciprocal tells a
// block start (no division); the marker tells a block already free.
inline Block* CheckedBlock(Page* page, void* p, const char* call) {
  uintptr_t offset = reinterpret_cast<uintptr_t>(p) - page->start;
  uint64_t index = (offset * page->reciprocal) >> 40;
  auto* block = static_cast<Block*>(p);
  bool misplaced = index * page->block_size != offset || index >= page->capacity;
  if (misplaced || block->free_marker == (free_marker_key ^ reinterpret_cast<uintptr_t>(block)))
      [[unlikely]] {
    ReportBadBlock(page, p, call, !misplaced);
    return nullptr;
  }
  return block;
}

// Frees `p`, which is in the arena, on behalf of a thread inside the engine whose heap (as
// its EngineEntry saw it) is `heap`. A page that heap does not own (a sentinel owns none) gets
// the block through its atomic remote list.
inline void FreeInArena(Heap* heap, void* p) {
  Page* page = arena.PageOf(p);
  Block* block = CheckedBlock(page, p, "free");
  if (block == nullptr) [[unlikely]] return;
  block->free_marker = free_marker_key ^ reinterpret_cast<uintptr_t>(block);
  if (page->heap.load(std::memory_order_relaxed) == heap) [[likely]] {
    heap->FreeLocal(page, block);
  } else {
    FreeRemote(page, block);
  }
}

// A block of `size` bytes, or null: the caller then takes the generic path.
inline void* TryAllocate(size_t size) {
  if (size >= fast_path.allocation_limit.load(std::memory_order_acquire)) [[unlikely]] {
    return nullptr;
  }
  EngineEntry entry;
  return entry.heap()->TryAllocateSmall(size);
}

// Frees `p` and returns true when it is in the arena; false sends the caller to the generic
// path.
inline bool TryFree(void* p) {
  // The range first: once it is set, `base` (written before it) is too.
  size_t range = fast_path.range.load(std::memory_order_acquire);
  if (reinterpret_cast<uintptr_t>(p) - fast_path.base >= range) [[unlikely]] return false;
  EngineEntry entry;
  FreeInArena(entry.heap(), p);
  return true;
}

}  // namespace poolscope::engine::pool

#endif  // POOLSCOPE_SRC_ENGINE_POOL_FAST_PATH_H_
