// Per-thread heaps: the pool engine's front end.
//
// Each thread allocates from pages it owns, reached through an initial-exec TLS pointer with no
// lock and no atomic operation on the fast path. Until its first allocation a thread points at
// a static, empty sentinel heap whose pages have no free blocks, so the fast path needs no
// "initialised?" test: the miss path notices the sentinel and creates the real heap.
//
// Per size class a heap keeps `current_` (the page the fast path pops from), the pages that may
// have free blocks (`available_`: a full page that gets a block back joins its end, behind the
// pages that have gathered frees longer), and full pages (`full_`). A full page is flagged for other
// threads: the first remote free into it sets the class's bit in `full_dirty_`, so the owner
// rescans only then. When a thread exits, its pages with live blocks are abandoned to the arena
// and adopted by the next thread that needs a page of that class.
//
// While a call is inside the engine on a thread, that thread's heap word points at a second
// sentinel, the busy heap (EngineEntry). A signal handler that allocates on the same thread
// therefore finds no free block (its fast path misses) and takes the nested path, which
// touches no per-thread state; a free it makes finds the page not owned by the busy heap and
// goes through the atomic remote list. The guard is two plain stores, and the nested test
// costs nothing on the fast paths: it is the miss they already have.
#ifndef POOLSCOPE_SRC_ENGINE_POOL_HEAP_H_
#define POOLSCOPE_SRC_ENGINE_POOL_HEAP_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "common/fast_thread.h"
#include "common/hidden.h"
#include "engine/pool/arena.h"
#include "engine/pool/page.h"
#include "engine/pool/size_class.h"

namespace poolscope::engine::pool {

// fast_thread.heap (common/fast_thread.h) is this thread's heap: the empty sentinel until its
// first allocation; the busy heap while an engine call runs on this thread.
// The sentinels: every class's current page is an empty one, and they own no page.
extern Heap sentinel_heap POOLSCOPE_HIDDEN;
extern Heap busy_heap POOLSCOPE_HIDDEN;

class Heap {
 public:
  explicit constexpr Heap(Page* empty_page) : current_(), small_() {
    for (Page*& p : current_) p = empty_page;
    for (Page*& p : small_) p = empty_page;
  }

  void* Allocate(size_t size) {
    int size_class = FastSizeClassOf(size);
    if (Block* block = Pop(current_[size_class])) [[likely]] return block;
    return AllocateSlow(size_class);
  }

  // A block of at most kMaxSmallSize bytes from the current page, or null when that page has
  // no free block (a sentinel's never has).
  Block* TryAllocateSmall(size_t size) { return Pop(small_[(size + 15) >> 4]); }

  // A block of a page this heap owns, freed by its owner. Returns whether the page must be
  // settled next (AfterLocalFree): it became empty, or it is in the full list.
  bool FreeLocal(Page* page, Block* block) {
    block->next = page->local_free;
    page->local_free = block;
    return --page->used_code < 0;
  }
  // Unfulls the page, and gives it back to the arena if it is empty and not current.
  [[gnu::noinline]] void AfterLocalFree(Page* page);

  // Thread exit: every page goes back to the arena, empty or abandoned.
  void AbandonAll();
  bool is_sentinel() const { return this == &sentinel_heap; }

  // Link in the arena's list of free heap descriptors.
  Heap* next_ = nullptr;

 private:
  friend void FreeRemote(Page* page, Block* block);

  // Also takes the commonest miss inline: the owner's own frees waiting in local_free.
  static Block* Pop(Page* page) {
    Block* block = page->free;
    if (block == nullptr) [[unlikely]] {
      block = page->local_free;
      if (block == nullptr) return nullptr;
      page->local_free = nullptr;
    }
    Block* next = block->next;
    page->free = next;
    // The next allocation of this size reads `next`'s link: a free list's blocks are spread
    // over the page and long untouched, and that dependent load was the allocator's largest
    // stall under an interpreter (14 % of python3 churn with PYTHONMALLOC=malloc).
    __builtin_prefetch(next);
    page->used_code++;
    block->free_marker = 0;
    return block;
  }

  [[gnu::noinline]] void* AllocateSlow(int size_class);
  Page* FindPageWithFreeBlocks(int size_class);
  bool Refill(Page* page);
  void MarkFull(Page* page);
  void Unfull(Page* page);
  void RescanFullPages(int size_class);
  void SetCurrent(int size_class, Page* page);

  Page* current_[kClassCount];
  // current_ by 16-byte size step up to kMaxSmallSize, so the fast path needs no class lookup.
  Page* small_[kMaxSmallSize / 16 + 1];
  PageList available_[kClassCount];
  PageList full_[kClassCount];
  std::atomic<uint64_t> full_dirty_[2] = {};
};

// Moves remotely freed blocks of `page` into its free list; returns whether there were any.
bool CollectRemoteFrees(Page* page);
// A block freed by a thread that does not own its page.
void FreeRemote(Page* page, Block* block);

// Marks the calling thread as inside the engine for the scope's duration (see the top of this
// file). Only the compiler may reorder across the marks: a signal runs on this same thread.
class EngineEntry {
 public:
  EngineEntry() : heap_(fast_thread.heap) { Enter(); }
  ~EngineEntry() { Leave(heap_); }
  EngineEntry(const EngineEntry&) = delete;
  EngineEntry& operator=(const EngineEntry&) = delete;

  // This call interrupted another engine call on the same thread.
  bool nested() const { return heap_ == &busy_heap; }
  // The thread's heap as it was: possibly a sentinel, which owns no page and has no free block.
  Heap* heap() const { return heap_; }
  // The thread's heap, created at its first allocation; the empty sentinel if that fails.
  Heap* HeapForAllocation() {
    if (heap_->is_sentinel()) [[unlikely]] heap_ = CreateThreadHeap();
    return heap_;
  }

  // The scope's marks, for the free fast path, which leaves on either side of a branch.
  static void Enter() {
    fast_thread.heap = &busy_heap;
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  // `heap`: the thread's heap as it was on entry (or the heap created since).
  static void Leave(Heap* heap) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    fast_thread.heap = heap;
  }

 private:
  // Creates the heap of the calling thread (which has none) and registers its exit hook.
  [[gnu::cold, gnu::noinline]] static Heap* CreateThreadHeap();

  Heap* heap_;
};
// Sets up the thread-exit hook; call once at engine start-up.
bool InitThreadHeaps();

}  // namespace poolscope::engine::pool

#endif  // POOLSCOPE_SRC_ENGINE_POOL_HEAP_H_
