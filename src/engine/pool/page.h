// Pages, the unit the pool engine hands to threads, and the segment metadata that holds them.
//
// A page is a run of blocks of one size class inside a 2 MiB segment. It has one owning heap
// (thread) at a time. Its free blocks are sharded three ways, so the common paths need no
// atomic operation:
//   free        the list the owner allocates from;
//   local_free  where the owner's frees go (swapped into `free` when that runs dry);
//   thread_free an atomic stack for frees from other threads, collected by the owner.
// Page descriptors live outside the segments they describe (in one metadata array indexed by
// segment number), so a heap overflow in user data cannot corrupt them.
#ifndef POOLSCOPE_SRC_ENGINE_POOL_PAGE_H_
#define POOLSCOPE_SRC_ENGINE_POOL_PAGE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "engine/pool/size_class.h"

namespace poolscope::engine::pool {

class Heap;

inline constexpr int kSegmentShift = 21;
inline constexpr size_t kSegmentSize = size_t{1} << kSegmentShift;
inline constexpr int kSliceShift = 16;  // the smallest page: 64 KiB
inline constexpr int kSlicesPerSegment = 1 << (kSegmentShift - kSliceShift);

constexpr int PageShift(PageKind kind) { return kind == PageKind::kSmall ? 16 : 19; }
constexpr int PagesPerSegment(PageKind kind) { return 1 << (kSegmentShift - PageShift(kind)); }
constexpr int SlicesPerPage(PageKind kind) { return 1 << (PageShift(kind) - kSliceShift); }

// A free block. The second word holds a marker while the block is free (FreeMarkerOf), so a
// second free of it is recognised without searching any list; allocation clears it.
struct Block {
  Block* next;
  uintptr_t free_marker;
};
static_assert(sizeof(Block) <= kMinBlockSize);

// Taken off Page::used_code while the page is in its owner's full list.
inline constexpr int32_t kFullListBias = int32_t{1} << 30;

struct alignas(64) Page {
  // Written by the owner only.
  Block* free;
  Block* local_free;
  // used() - 1, less kFullListBias while the page is in the owner's full list: negative
  // exactly when the page is empty or full-listed, the two cases in which the owner's free
  // must do more, which it thus learns from the sign of one decrement (Heap::FreeLocal).
  // Allocation adds one, a free takes one off: the code moves as used() does.
  int32_t used_code;
  uint32_t capacity;  // blocks carved so far; the rest of the page is untouched
  uint32_t reserved;  // blocks that fit in the page
  uint32_t block_size;  // 0 while the page is not in use
  uintptr_t start;      // first block; 0 while the page is not in use
  // The block check, one multiply and one compare (IsBlockStart): `offset` from `start` is
  // carved block number k < capacity exactly when offset * block_test_multiplier (mod 2^64)
  // is below block_test_limit. The multiplier is floor((2^64 - 1) / block_size) + 2, so
  // block_size * multiplier = 2^64 + e with block_size <= e <= 2 * block_size; block k's
  // offset then maps to k * e, increasing in k, and any other offset below 2^19 to at least
  // the multiplier (far above every k * e): the limit is capacity * e. (Lemire's divisibility
  // test, with the multiplier raised so that e > 0 and the product also orders the blocks.)
  // Both 0 while the page is not in use: nothing passes.
  uint64_t block_test_multiplier;
  uint64_t block_test_limit;
  uint8_t size_class;
  // Shared with other threads.
  std::atomic<bool> in_full;  // full: remote frees must tell the owner (Heap::full_dirty_)
  std::atomic<Block*> thread_free;
  std::atomic<Heap*> heap;    // the owner; null while abandoned or not in use
  // Links in the owner's page lists, or in the abandoned list.
  Page* next;
  Page* prev;

  // Blocks handed out and not yet returned (pending thread_free blocks count).
  uint32_t used() const {
    return static_cast<uint32_t>(used_code + 1 + (in_full_list() ? kFullListBias : 0));
  }
  // Blocks carved: the block check's limit moves with the count (block_size * multiplier wraps
  // to e, see block_test_multiplier).
  void set_capacity(uint32_t blocks) {
    capacity = blocks;
    block_test_limit = uint64_t{blocks} * (block_size * block_test_multiplier);
  }
  // The owner's view of in_full.
  bool in_full_list() const { return used_code < -1; }
  void set_in_full_list(bool in) {
    if (in != in_full_list()) used_code += in ? -kFullListBias : kFullListBias;
  }
};

// A free block's marker: its address plus its page descriptor's. One instruction on the free
// path (a secret key cost a load and an XOR), never 0 (the mark of a block in use), and no
// value a program stores by chance: it points nowhere in particular and differs from block to
// block, so even a stale copy of another free block's marker does not match.
inline uintptr_t FreeMarkerOf(const Page* page, const Block* block) {
  return reinterpret_cast<uintptr_t>(page) + reinterpret_cast<uintptr_t>(block);
}

// A doubly linked list threaded through `next`/`prev` members of its nodes (pages, segments),
// owned by whoever holds it (a heap, or the arena's lock).
template <typename Node>
struct IntrusiveList {
  Node* first = nullptr;
  Node* last = nullptr;

  bool empty() const { return first == nullptr; }
  void PushFront(Node* node) {
    node->prev = nullptr;
    node->next = first;
    if (first != nullptr) {
      first->prev = node;
    } else {
      last = node;
    }
    first = node;
  }
  void PushBack(Node* node) {
    node->next = nullptr;
    node->prev = last;
    if (last != nullptr) {
      last->next = node;
    } else {
      first = node;
    }
    last = node;
  }
  void Remove(Node* node) {
    if (node->prev != nullptr) {
      node->prev->next = node->next;
    } else {
      first = node->next;
    }
    if (node->next != nullptr) {
      node->next->prev = node->prev;
    } else {
      last = node->prev;
    }
    node->next = node->prev = nullptr;
  }
};

using PageList = IntrusiveList<Page>;

enum class SegmentState : uint8_t { kUnused, kActive, kEmpty, kPurged };

// The segment's pages are described in the arena's page table, not here (Arena::PageOf).
struct SegmentMeta {
  PageKind kind;
  SegmentState state;
  uint32_t free_pages;  // bit i: page i is free
  uint32_t used_pages;
  uint64_t empty_since_ms;
  SegmentMeta* next;
  SegmentMeta* prev;
};

}  // namespace poolscope::engine::pool

#endif  // POOLSCOPE_SRC_ENGINE_POOL_PAGE_H_
