// The pool engine's fast paths, inlined into the entry points (through engine/fast_path.h):
// a small allocation from the thread's current page, and the free of any pooled block. No
// virtual call, no lock, no atomic operation when the block is the thread's own.
//
// They serve nothing until PoolEngine::EnableFastPath sets `fast_path` (the interposer does
// when no call needs to be counted or recorded in full): until then the size test and the
// range test that every call makes anyway fail, and the caller takes the generic path. A miss
// (empty page, pointer outside the arena) also returns to the generic path.
//
// Sampled recording keeps them: an allocation that the sampling countdown (common/
// fast_thread.h) picks goes to the generic path, which records it and moves it out of the
// arena (PoolEngine::MoveSampledBlock), so its free misses the range test and is recorded
// too, while every block in the arena is known unsampled.
#ifndef POOLSCOPE_SRC_ENGINE_POOL_FAST_PATH_H_
#define POOLSCOPE_SRC_ENGINE_POOL_FAST_PATH_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "common/fast_thread.h"
#include "common/hidden.h"
#include "engine/pool/arena.h"
#include "engine/pool/heap.h"
#include "engine/pool/page.h"

namespace poolscope::engine::pool {

// Plain data, written once when the fast paths are enabled, and read with no ordering: each
// value on its own, old or new, is safe. Old values serve nothing: no size is below 0, and no
// user-space pointer is within `range` above a non-canonical `base`. A thread that frees a
// pooled block got it after the engine was ready, so it sees the arena's state behind the new
// values; a thread's own heap it set up itself.
struct FastPathLimits {
  // Sizes below this are served by TryAllocate: kMaxSmallSize + 1 once enabled.
  size_t allocation_limit = 0;
  // The arena's range as TryFree tests it.
  uintptr_t base = uintptr_t{1} << 63;
  size_t range = 0;
};
// The entry points' fast paths (engine/fast_path.h): enabled only when no call is counted or
// recorded.
extern FastPathLimits fast_path POOLSCOPE_HIDDEN;
// The same paths inside the generic path, after the counting and recording: enabled whenever
// the pool engine is ready, so counted and recorded calls skip the virtual call too.
extern FastPathLimits inline_path POOLSCOPE_HIDDEN;

[[gnu::cold, gnu::noinline]] void ReportBadBlock(Page* page, void* p, const char* call, bool freed);

// Whether `offset_in_page` (below 2^19) is the start of a carved block (see
// Page::block_test_multiplier). False for every offset into an unused page.
inline bool IsCarvedBlockOffset(const Page* page, uint64_t offset_in_page) {
  return offset_in_page * page->block_test_multiplier < page->block_test_limit;
}
// Whether `p` is the start of a block `page` (Arena::PageOf(p)) has carved.
inline bool IsBlockStart(const Page* page, const void* p) {
  return IsCarvedBlockOffset(page, reinterpret_cast<uintptr_t>(p) - page->start);
}
// IsBlockStart for the descriptor of the slice at `offset` from the arena's base (SliceAt).
// Pages start at their first slice, so the offset in the page is the offset in the slice.
inline bool IsBlockStartInSlice(const Page* slice, uintptr_t offset) {
  return IsCarvedBlockOffset(slice, offset & ((uintptr_t{1} << kSliceShift) - 1));
}

// The block `p` points to, or null (after reporting) when `p` is not a block start in use.
inline Block* CheckedBlock(Page* page, void* p, const char* call) {
  auto* block = static_cast<Block*>(p);
  bool misplaced = !IsBlockStart(page, p);
  if (misplaced || block->free_marker == FreeMarkerOf(page, block)) [[unlikely]] {
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
  block->free_marker = FreeMarkerOf(page, block);
  if (page->heap.load(std::memory_order_relaxed) == heap) [[likely]] {
    if (heap->FreeLocal(page, block)) [[unlikely]] heap->AfterLocalFree(page);
  } else {
    FreeRemote(page, block);
  }
}

// FreeInArena in an engine entry of its own: the fast path's way out for blocks of medium
// pages outside their first slice, and for pointers that are not live blocks (reported).
[[gnu::noinline]] void FreeInArenaOutOfLine(void* p);
// AfterLocalFree, then leaves the engine (which TryFree entered).
[[gnu::noinline]] void SettleAfterLocalFreeAndLeave(Heap* heap, Page* page);

// A block of `size` bytes, or null: the caller then takes the generic path. The sampling
// countdown is charged only for blocks served here; the generic path charges the others.
inline void* TryAllocate(size_t size, const FastPathLimits& limits = fast_path) {
  if (size >= limits.allocation_limit) [[unlikely]] return nullptr;
  if (!ChargeSampleCountdown(size)) [[unlikely]] {
    SampleCountdownRanOut(size);
    return nullptr;
  }
  EngineEntry entry;
  void* block = entry.heap()->TryAllocateSmall(size);
  if (block == nullptr) [[unlikely]] fast_thread.sample_countdown += static_cast<int64_t>(size);
  return block;
}

// page->heap == heap, read relaxed, in one compare with a memory operand: the compiler keeps
// an atomic load apart from its compare, an instruction more on every free.
inline bool OwnedBy(const Page* page, const Heap* heap) {
  bool owned;
  asm("cmpq %[heap], %[owner]" : "=@cce"(owned) : [owner] "m"(page->heap), [heap] "r"(heap));
  return owned;
}

// Frees `p` and returns true when it is in the arena; false sends the caller to the generic
// path. Only the push onto the page's local list needs to be inside the engine: the checks
// read nothing a signal handler on this thread could change under them (the page holds this
// live block, so it stays this heap's), and remote frees are atomic. The calls are all last,
// so the caller needs no stack frame; and the engine is left on both branches of the last
// decrement, so the branch tests its flags.
inline bool TryFree(void* p, const FastPathLimits& limits = fast_path) {
  uintptr_t offset = reinterpret_cast<uintptr_t>(p) - limits.base;
  if (offset >= limits.range) [[unlikely]] return false;
  Page* page = arena.SliceAt(offset);
  auto* block = static_cast<Block*>(p);
  if (!IsBlockStartInSlice(page, offset) || block->free_marker == FreeMarkerOf(page, block))
      [[unlikely]] {
    FreeInArenaOutOfLine(p);
    return true;
  }
  block->free_marker = FreeMarkerOf(page, block);
  Heap* heap = fast_thread.heap;
  if (!OwnedBy(page, heap)) [[unlikely]] {
    FreeRemote(page, block);  // also a nested call's way: the busy heap owns no page
    return true;
  }
  EngineEntry::Enter();
  if (heap->FreeLocal(page, block)) [[unlikely]] {
    SettleAfterLocalFreeAndLeave(heap, page);
    return true;
  }
  EngineEntry::Leave(heap);
  return true;
}

}  // namespace poolscope::engine::pool

#endif  // POOLSCOPE_SRC_ENGINE_POOL_FAST_PATH_H_
