// The arena: one reserved virtual range holding every pooled block, cut into 2 MiB segments.
// Segments are madvised for transparent huge pages as they are committed, except the first
// 64 MiB: a small heap keeps 4 KiB pages (its pages are sparse; huge ones would be mostly idle).
//
// Because all pooled memory lies in one range, "is this pointer ours" is a subtraction and a
// compare, and a pointer finds its segment's metadata by shifting. Segments are committed on
// first use and dedicated to one page kind while they hold pages. A segment whose pages are
// all free is kept (still backed, hot) for a while, then purged whole — never partially, which
// would split its huge page — after `decay_ms`, or at once when more are kept than a quarter
// of the heap in use (4 to 32 MiB). New pages come from the fullest segment with room, then
// kept empty ones, then purged ones, and fresh segments last, so huge pages stay dense.
//
// The arena also keeps the pages of threads that exited (abandoned, adopted by others) and the
// heap descriptors. Everything here runs under one lock, taken once per page (64 KiB or more of
// allocation), never per block.
#ifndef POOLSCOPE_SRC_ENGINE_POOL_ARENA_H_
#define POOLSCOPE_SRC_ENGINE_POOL_ARENA_H_

#include <cstddef>
#include <cstdint>

#include "common/config.h"
#include "common/hidden.h"
#include "common/spinlock.h"
#include "engine/pool/page.h"

namespace poolscope::engine::pool {

// Empty segments kept backed: a quarter of the heap in use, between these bounds.
inline constexpr size_t kMinEmptyBytes = size_t{4} << 20;
inline constexpr size_t kMaxEmptyBytes = size_t{32} << 20;

struct ArenaStats {
  size_t reserved_bytes;
  size_t committed_bytes;  // segments ever committed, minus none: purged ones stay mapped
  size_t active_segments;
  size_t empty_segments;   // kept backed
  size_t purged_segments;
  size_t pages_in_use;
  size_t bytes_in_use;     // blocks handed out (approximate while other threads run)
};

class Arena {
 public:
  // Reserves the range: up to `max_bytes`, halving on refusal (ulimit -v) down to 64 MiB.
  bool Init(size_t max_bytes, common::HugePages mode, uint32_t decay_ms);

  bool Contains(const void* p) const {
    return reinterpret_cast<uintptr_t>(p) - base_ < size_;
  }
  // The page holding `p`, which Contains(). The page may be unused (block_size 0).
  Page* PageOf(const void* p) const {
    size_t slice = (reinterpret_cast<uintptr_t>(p) - base_) >> kSliceShift;
    PageKind kind = segments_[slice / kSlicesPerSegment].kind;
    return &pages_[slice & ~static_cast<size_t>(SlicesPerPage(kind) - 1)];
  }
  // The descriptor of the 64 KiB slice at `offset` from base(): the page holding that
  // address, unless it is in a later slice of a medium page (an unused descriptor, with
  // block_size 0). One shift, no segment lookup: the free fast path's choice.
  Page* SliceAt(uintptr_t offset) const { return &pages_[offset >> kSliceShift]; }

  // A fresh page of `size_class` owned by `owner`, or nullptr when the range is exhausted.
  Page* AllocatePage(int size_class, Heap* owner);
  // Returns a page with no live blocks.
  void FreePage(Page* page);

  // Threads that exit leave their non-empty pages here for others to adopt.
  void Abandon(Page* page);
  Page* TakeAbandoned(int size_class);

  // Heap descriptors are never unmapped: a remote free may still read one after its thread
  // exited, and memory is recycled only as another heap.
  Heap* NewHeap();  // storage only: the caller constructs it
  void RetireHeap(Heap* heap);

  // Purges every empty segment now (malloc_trim). Returns the bytes released.
  size_t PurgeAll();
  ArenaStats Stats();

  void LockForFork() { fork_taken_ = lock_.LockForFork(); }
  void UnlockInParent() { lock_.AfterForkInParent(fork_taken_); }
  void ResetInChild() { lock_.ResetInChild(); }

  common::HugePages huge_pages() const { return mode_; }
  uintptr_t base() const { return base_; }
  size_t size() const { return size_; }

 private:
  using SegmentList = IntrusiveList<SegmentMeta>;

  SegmentMeta* TakeSegment(PageKind kind);  // lock held
  // Partly used segments are filed by pages in use, so the fullest is found with one bit scan.
  void FilePartial(SegmentMeta* segment);    // lock held
  void UnfilePartial(SegmentMeta* segment);  // lock held
  bool CommitSegment(SegmentMeta* segment);  // lock held
  void PurgeExpired(uint64_t now_ms);        // lock held
  void Purge(SegmentMeta* segment);          // lock held
  char* AddressOf(const SegmentMeta* segment) const {
    return reinterpret_cast<char*>(base_) + (segment - segments_) * kSegmentSize;
  }
  Page* FirstPageOf(const SegmentMeta* segment) const {
    return &pages_[(segment - segments_) * kSlicesPerSegment];
  }

  common::SpinLock lock_;
  bool fork_taken_ = false;
  uintptr_t base_ = 0;
  size_t size_ = 0;
  SegmentMeta* segments_ = nullptr;
  // The page table: one descriptor per 64 KiB slice of the range; a page is described by its
  // first slice's. Separate from the segments, so a user overflow cannot reach it.
  Page* pages_ = nullptr;
  size_t segment_count_ = 0;
  size_t next_fresh_ = 0;  // segments below this index have been committed once
  common::HugePages mode_ = common::HugePages::kThp;
  uint32_t decay_ms_ = 0;
  SegmentList partial_[kPageKinds][kSlicesPerSegment];  // by pages in use
  uint32_t partial_mask_[kPageKinds] = {};  // bit n: partial_[kind][n] is not empty
  size_t purged_count_ = 0;
  SegmentList empty_;                // newest first
  SegmentList purged_;
  size_t empty_bytes_ = 0;
  PageList abandoned_[kClassCount];
  Heap* free_heaps_ = nullptr;
  char* heap_slab_ = nullptr;  // carved into heaps
  size_t heap_slab_left_ = 0;
};

extern Arena arena POOLSCOPE_HIDDEN;

}  // namespace poolscope::engine::pool

#endif  // POOLSCOPE_SRC_ENGINE_POOL_ARENA_H_
