// Per-thread heaps: the pool engine's front end.
//
// Each thread allocates from pages it owns, reached through an initial-exec TLS pointer with no
// lock and no atomic operation on the fast path. Until its first allocation a thread points at
// a static, empty sentinel heap whose pages have no free blocks, so the fast path needs no
// "initialised?" test: the miss path notices the sentinel and creates the real heap.
//
// Per size class a heap keeps `current_` (the page the fast path pops from), the pages that may
// have free blocks (`available_`), and full pages (`full_`). A full page is flagged for other
// threads: the first remote free into it sets the class's bit in `full_dirty_`, so the owner
// rescans only then. When a thread exits, its pages with live blocks are abandoned to the arena
// and adopted by the next thread that needs a page of that class.
#ifndef POOLSCOPE_SRC_ENGINE_POOL_HEAP_H_
#define POOLSCOPE_SRC_ENGINE_POOL_HEAP_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "engine/pool/arena.h"
#include "engine/pool/page.h"
#include "engine/pool/size_class.h"

namespace poolscope::engine::pool {

class Heap;
extern __thread Heap* tls_heap __attribute__((tls_model("initial-exec")));
// Random per process: a free block's marker is this XOR its address (see Block).
extern uintptr_t free_marker_key;

class Heap {
 public:
  explicit constexpr Heap(Page* empty_page) : current_() {
    for (Page*& p : current_) p = empty_page;
  }

  static Heap* Current() { return tls_heap; }

  void* Allocate(size_t size) {
    int size_class = FastSizeClassOf(size);
    Page* page = current_[size_class];
    Block* block = page->free;
    if (block != nullptr) [[likely]] {
      page->free = block->next;
      page->used++;
      block->free_marker = 0;
      return block;
    }
    return AllocateSlow(size_class);
  }

  // A block of a page this heap owns, freed by its owner.
  void FreeLocal(Page* page, Block* block) {
    block->next = page->local_free;
    page->local_free = block;
    if (--page->used == 0 || page->in_full_list) [[unlikely]] AfterLocalFree(page);
  }

  // Thread exit: every page goes back to the arena, empty or abandoned.
  void AbandonAll();
  bool is_sentinel() const;

  // Link in the arena's list of free heap descriptors.
  Heap* next_ = nullptr;

 private:
  friend void FreeRemote(Page* page, Block* block);

  [[gnu::noinline]] void* AllocateSlow(int size_class);
  Page* FindPageWithFreeBlocks(int size_class);
  bool Refill(Page* page);
  void MarkFull(Page* page);
  void Unfull(Page* page);
  void RescanFullPages(int size_class);
  [[gnu::noinline]] void AfterLocalFree(Page* page);

  Page* current_[kClassCount];
  PageList available_[kClassCount];
  PageList full_[kClassCount];
  std::atomic<uint64_t> full_dirty_[2] = {};
};

// Moves remotely freed blocks of `page` into its free list; returns whether there were any.
bool CollectRemoteFrees(Page* page);
// A block freed by a thread that does not own its page.
void FreeRemote(Page* page, Block* block);

// Creates the heap of the calling thread (which must have none) and registers its exit hook.
Heap* CreateThreadHeap();
// Sets up the thread-exit hook; call once at engine start-up.
bool InitThreadHeaps();

}  // namespace poolscope::engine::pool

#endif  // POOLSCOPE_SRC_ENGINE_POOL_HEAP_H_
