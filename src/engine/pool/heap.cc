#include "engine/pool/heap.h"

#include <pthread.h>

#include <new>

#include "common/log.h"
#include "engine/pool/os.h"

namespace poolscope::engine::pool {
namespace {

// The page every sentinel slot points at: never has a free block, never written.
constinit Page empty_page{};

pthread_key_t exit_key;

constexpr uint64_t DirtyBit(int size_class) { return uint64_t{1} << (size_class & 63); }

void OnThreadExit(void* value) {
  auto* heap = static_cast<Heap*>(value);
  // Destructors that run after this one may still allocate: they start a new heap.
  fast_thread.heap = &sentinel_heap;
  heap->AbandonAll();
  arena.RetireHeap(heap);
}

// Carves the next run of blocks from the untouched part of the page. Runs are about one
// 4 KiB page, so a page's memory is touched as it is used rather than all at once: a small
// program touches a few size classes a few blocks deep, and 16 KiB runs made its heap twice
// as resident as mimalloc's (which extends by 4 KiB too). Blocks of 4 KiB and more come one
// at a time: allocation takes carved blocks before the freed ones, so a vector regrown
// through a class cycled through all eight blocks of a run of eight, each written whole
// (C++ containers held 12.7 MiB at peak instead of 7.9).
void Extend(Page* page) {
  uint32_t remaining = page->reserved - page->capacity;
  uint32_t count = static_cast<uint32_t>(os::kPageSize / page->block_size);
  if (count == 0) count = 1;
  if (count > remaining) count = remaining;
  char* first = reinterpret_cast<char*>(page->start) + size_t{page->capacity} * page->block_size;
  Block* next = page->free;
  for (uint32_t i = count; i-- > 0;) {
    auto* block = reinterpret_cast<Block*>(first + size_t{i} * page->block_size);
    block->next = next;
    // Marked free, so freeing a block that was never handed out is caught as a double free.
    block->free_marker = FreeMarkerOf(page, block);
    next = block;
  }
  page->free = next;
  page->set_capacity(page->capacity + count);
}

}  // namespace

constinit Heap sentinel_heap(&empty_page);
constinit Heap busy_heap(&empty_page);
}  // namespace poolscope::engine::pool

namespace poolscope {
// The countdown starts spent, so a thread's first allocation reaches the recorder, which parks
// it or draws the thread's first sampling gap.
__thread FastThreadWords fast_thread __attribute__((tls_model("initial-exec"))) = {
    &engine::pool::sentinel_heap, 0};
}  // namespace poolscope

namespace poolscope::engine::pool {

bool InitThreadHeaps() {
  if (pthread_key_create(&exit_key, OnThreadExit) != 0) {
    common::LogLine("pool engine: cannot create the thread-exit key");
    return false;
  }
  return true;
}

Heap* EngineEntry::CreateThreadHeap() {
  Heap* heap = arena.NewHeap();
  if (heap == nullptr) return &sentinel_heap;
  new (heap) Heap(&empty_page);
  // May allocate: that call is nested (this thread is inside the engine) and is served
  // without a heap. The entry installs this one as the thread's heap when it ends.
  pthread_setspecific(exit_key, heap);
  return heap;
}

bool CollectRemoteFrees(Page* page) {
  if (page->thread_free.load(std::memory_order_relaxed) == nullptr) return false;
  Block* list = page->thread_free.exchange(nullptr, std::memory_order_acquire);
  if (list == nullptr) return false;
  uint32_t count = 1;
  Block* tail = list;
  for (; tail->next != nullptr; tail = tail->next) ++count;
  tail->next = page->free;
  page->free = list;
  page->used_code -= static_cast<int32_t>(count);
  return true;
}

void FreeRemote(Page* page, Block* block) {
  Block* head = page->thread_free.load(std::memory_order_relaxed);
  do {
    block->next = head;
  } while (!page->thread_free.compare_exchange_weak(head, block, std::memory_order_seq_cst,
                                                    std::memory_order_relaxed));
  // Pairs with MarkFull: either the owner sees this block when it marks the page full, or
  // this thread sees the page marked full and tells the owner.
  if (page->in_full.load(std::memory_order_seq_cst)) [[unlikely]] {
    if (Heap* owner = page->heap.load(std::memory_order_acquire)) {
      owner->full_dirty_[page->size_class >> 6].fetch_or(DirtyBit(page->size_class),
                                                         std::memory_order_release);
    }
  }
}

void* Heap::AllocateSlow(int size_class) {
  // No heap: it could not be created, or a nested call got here (the busy heap never does).
  if (is_sentinel() || this == &busy_heap) return nullptr;
  Page* page = FindPageWithFreeBlocks(size_class);
  if (page == nullptr) return nullptr;
  SetCurrent(size_class, page);
  return Allocate(ClassSize(size_class));
}

void Heap::SetCurrent(int size_class, Page* page) {
  current_[size_class] = page;
  if (ClassSize(size_class) > kMaxSmallSize) return;
  size_t first_step = size_class == 0 ? 0 : ClassSize(size_class - 1) / 16 + 1;
  for (size_t step = first_step; step <= ClassSize(size_class) / 16; ++step) small_[step] = page;
}

bool Heap::Refill(Page* page) {
  if (page->free != nullptr) return true;
  if (page->local_free != nullptr) {
    page->free = page->local_free;
    page->local_free = nullptr;
    return true;
  }
  if (CollectRemoteFrees(page)) return true;
  if (page->capacity < page->reserved) {
    Extend(page);
    return true;
  }
  return false;
}

void Heap::MarkFull(Page* page) {
  available_[page->size_class].Remove(page);
  full_[page->size_class].PushFront(page);
  page->set_in_full_list(true);
  page->in_full.store(true, std::memory_order_seq_cst);
  if (page->thread_free.load(std::memory_order_seq_cst) != nullptr) Unfull(page);
}

void Heap::Unfull(Page* page) {
  full_[page->size_class].Remove(page);
  available_[page->size_class].PushBack(page);
  page->set_in_full_list(false);
  page->in_full.store(false, std::memory_order_relaxed);
}

void Heap::RescanFullPages(int size_class) {
  std::atomic<uint64_t>& dirty = full_dirty_[size_class >> 6];
  if ((dirty.load(std::memory_order_relaxed) & DirtyBit(size_class)) == 0) return;
  dirty.fetch_and(~DirtyBit(size_class), std::memory_order_acquire);
  for (Page* page = full_[size_class].first; page != nullptr;) {
    Page* next = page->next;
    if (page->thread_free.load(std::memory_order_relaxed) != nullptr) Unfull(page);
    page = next;
  }
}

Page* Heap::FindPageWithFreeBlocks(int size_class) {
  Page* current = current_[size_class];
  if (current != &empty_page) {
    if (Refill(current)) return current;
    MarkFull(current);
    if (!current->in_full_list() && Refill(current)) return current;
  }
  SetCurrent(size_class, &empty_page);
  RescanFullPages(size_class);
  for (Page* page = available_[size_class].first; page != nullptr;) {
    Page* next = page->next;
    if (Refill(page)) return page;
    MarkFull(page);
    page = next;
  }
  while (Page* page = arena.TakeAbandoned(size_class)) {
    page->heap.store(this, std::memory_order_release);
    page->set_in_full_list(false);
    page->in_full.store(false, std::memory_order_relaxed);
    available_[size_class].PushFront(page);
    if (Refill(page)) return page;
    MarkFull(page);
  }
  Page* page = arena.AllocatePage(size_class, this);
  if (page == nullptr) return nullptr;
  available_[size_class].PushFront(page);
  Refill(page);
  return page;
}

void Heap::AfterLocalFree(Page* page) {
  if (page->in_full_list()) Unfull(page);
  // An empty page goes back to the arena, except the one the fast path is using: keeping it
  // avoids returning and refetching a page when a program frees and reallocates one block.
  if (page->used() == 0 && page != current_[page->size_class]) {
    available_[page->size_class].Remove(page);
    arena.FreePage(page);
  }
}

void Heap::AbandonAll() {
  for (int c = 0; c < kClassCount; ++c) {
    SetCurrent(c, &empty_page);
    for (PageList* list : {&available_[c], &full_[c]}) {
      while (Page* page = list->first) {
        list->Remove(page);
        page->set_in_full_list(false);
        page->in_full.store(false, std::memory_order_relaxed);
        CollectRemoteFrees(page);
        if (page->used() == 0) {
          arena.FreePage(page);
        } else {
          page->heap.store(nullptr, std::memory_order_release);
          arena.Abandon(page);
        }
      }
    }
  }
  full_dirty_[0].store(0, std::memory_order_relaxed);
  full_dirty_[1].store(0, std::memory_order_relaxed);
}

}  // namespace poolscope::engine::pool
