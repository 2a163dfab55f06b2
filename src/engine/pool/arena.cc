#include "engine/pool/arena.h"

#include "common/log.h"
#include "engine/pool/heap.h"
#include "engine/pool/os.h"

namespace poolscope::engine::pool {

constinit Arena arena;

namespace {

constexpr size_t kMinRangeBytes = size_t{64} << 20;
// The first 64 MiB of segments a process commits get 4 KiB pages: a huge page is 2 MiB of
// memory at the first touch, however little of it is used, and in a heap of that size the
// pages still carving their blocks are a large share (the 50 MB mixed-lifetimes benchmark held
// 7 % more with huge pages from 32 MiB, and ran no faster). Past that the heap is big enough
// for huge pages to pay (TLB reach) for their cost.
constexpr size_t kSegmentsBeforeHugePages = 32;
constexpr size_t kHeapSlabBytes = size_t{1} << 20;

constexpr uint32_t AllPagesFree(PageKind kind) {
  return PagesPerSegment(kind) == 32 ? ~uint32_t{0} : (uint32_t{1} << PagesPerSegment(kind)) - 1;
}

}  // namespace

bool Arena::Init(size_t max_bytes, common::HugePages mode, uint32_t decay_ms) {
  mode_ = mode;
  decay_ms_ = decay_ms;
  for (size_t bytes = max_bytes; bytes >= kMinRangeBytes; bytes /= 2) {
    size_t count = bytes >> kSegmentShift;
    size_t page_table_bytes = os::RoundUp(count * kSlicesPerSegment * sizeof(Page), os::kPageSize);
    size_t meta_bytes = page_table_bytes + os::RoundUp(count * sizeof(SegmentMeta), os::kPageSize);
    void* range = os::ReserveAligned(bytes, kSegmentSize);
    if (range == nullptr) continue;
    // The metadata is reserved too, and committed whole: untouched entries cost nothing.
    void* meta = os::Reserve(meta_bytes);
    if (meta == nullptr || !os::Commit(meta, meta_bytes, common::HugePages::kOff)) {
      os::Release(range, bytes);
      if (meta != nullptr) os::Release(meta, meta_bytes);
      continue;
    }
    if (bytes != max_bytes) {
      common::LogLine("pool engine: reserved %zu MiB of address space (%zu MiB refused)",
                      bytes >> 20, max_bytes >> 20);
    }
    base_ = reinterpret_cast<uintptr_t>(range);
    size_ = bytes;
    pages_ = static_cast<Page*>(meta);
    segments_ = reinterpret_cast<SegmentMeta*>(static_cast<char*>(meta) + page_table_bytes);
    segment_count_ = count;
    if (mode_ == common::HugePages::kOff) os::AdviseHugePages(range, bytes, mode_);
    return true;
  }
  common::LogLine("pool engine: cannot reserve even %zu MiB of address space", kMinRangeBytes >> 20);
  return false;
}

bool Arena::CommitSegment(SegmentMeta* segment) {
  char* address = AddressOf(segment);
  bool small_heap = next_fresh_ < kSegmentsBeforeHugePages;
  if (mode_ == common::HugePages::kThp && !small_heap) {
    // Before the first touch: a fault in a madvised, empty 2 MiB range maps a huge page.
    os::AdviseHugePages(address, kSegmentSize, mode_);
  }
  if (os::Commit(address, kSegmentSize, small_heap ? common::HugePages::kThp : mode_)) return true;
  if (mode_ == common::HugePages::kHugetlb) {
    common::LogLine("pool engine: no reserved huge pages (MAP_HUGETLB failed); using "
                    "transparent huge pages");
    mode_ = common::HugePages::kThp;
    os::AdviseHugePages(address, kSegmentSize, mode_);
    return os::Commit(address, kSegmentSize, mode_);
  }
  return false;
}

SegmentMeta* Arena::TakeSegment(PageKind kind) {
  SegmentMeta* segment = nullptr;
  if (empty_.first != nullptr) {
    segment = empty_.first;  // the most recently emptied: its memory is still hot
    empty_.Remove(segment);
    empty_bytes_ -= kSegmentSize;
  } else if (purged_.first != nullptr) {
    segment = purged_.first;
    purged_.Remove(segment);
    --purged_count_;
  } else if (next_fresh_ < segment_count_) {
    segment = &segments_[next_fresh_];
    if (!CommitSegment(segment)) return nullptr;
    ++next_fresh_;
  } else {
    return nullptr;
  }
  segment->kind = kind;
  segment->state = SegmentState::kActive;
  segment->free_pages = AllPagesFree(kind);
  segment->used_pages = 0;
  return segment;
}

void Arena::FilePartial(SegmentMeta* segment) {
  int kind = static_cast<int>(segment->kind);
  uint32_t used = segment->used_pages;
  if (used == 0 || used == static_cast<uint32_t>(PagesPerSegment(segment->kind))) return;
  partial_[kind][used].PushFront(segment);
  partial_mask_[kind] |= uint32_t{1} << used;
}

void Arena::UnfilePartial(SegmentMeta* segment) {
  int kind = static_cast<int>(segment->kind);
  uint32_t used = segment->used_pages;
  if (used == 0 || used == static_cast<uint32_t>(PagesPerSegment(segment->kind))) return;
  partial_[kind][used].Remove(segment);
  if (partial_[kind][used].first == nullptr) partial_mask_[kind] &= ~(uint32_t{1} << used);
}

Page* Arena::AllocatePage(int size_class, Heap* owner) {
  PageKind kind = PageKindOf(size_class);
  SegmentMeta* segment;
  {
    common::SpinLockGuard guard(lock_);
    PurgeExpired(os::NowMs());
    // The fullest segment with room: emptier ones drain, go back to the OS whole, and the
    // huge pages in use stay dense (the Temeraire lesson).
    uint32_t mask = partial_mask_[static_cast<int>(kind)];
    segment = mask != 0 ? partial_[static_cast<int>(kind)][31 - __builtin_clz(mask)].first
                        : TakeSegment(kind);
    if (segment == nullptr) return nullptr;
    UnfilePartial(segment);
    int index = __builtin_ctz(segment->free_pages);
    segment->free_pages &= ~(uint32_t{1} << index);
    segment->used_pages++;
    FilePartial(segment);
    Page* page = FirstPageOf(segment) + index * SlicesPerPage(kind);
    size_t block_size = ClassSize(size_class);
    size_t page_bytes = size_t{1} << PageShift(kind);
    page->free = nullptr;
    page->local_free = nullptr;
    page->used_code = -1;  // none used, not full-listed
    page->capacity = 0;
    page->block_test_limit = 0;
    page->reserved = static_cast<uint32_t>(page_bytes / block_size);
    page->block_size = static_cast<uint32_t>(block_size);
    page->block_test_multiplier = ~uint64_t{0} / block_size + 2;
    page->start = reinterpret_cast<uintptr_t>(AddressOf(segment)) + index * page_bytes;
    page->size_class = static_cast<uint8_t>(size_class);
    page->in_full.store(false, std::memory_order_relaxed);
    page->thread_free.store(nullptr, std::memory_order_relaxed);
    page->heap.store(owner, std::memory_order_release);
    page->next = page->prev = nullptr;
    return page;
  }
}

void Arena::FreePage(Page* page) {
  common::SpinLockGuard guard(lock_);
  uintptr_t offset = page->start - base_;
  SegmentMeta* segment = &segments_[offset >> kSegmentShift];
  int index = static_cast<int>((offset & (kSegmentSize - 1)) >> PageShift(segment->kind));
  // Later frees of pointers into this page find block_size 0 and are reported, not corrupting.
  page->block_size = 0;
  page->block_test_multiplier = 0;
  page->block_test_limit = 0;
  page->start = 0;
  page->heap.store(nullptr, std::memory_order_relaxed);
  UnfilePartial(segment);
  segment->free_pages |= uint32_t{1} << index;
  --segment->used_pages;
  FilePartial(segment);
  if (segment->used_pages == 0) {
    segment->state = SegmentState::kEmpty;
    segment->empty_since_ms = os::NowMs();
    empty_.PushFront(segment);
    empty_bytes_ += kSegmentSize;
  }
  PurgeExpired(os::NowMs());
}

void Arena::Purge(SegmentMeta* segment) {
  empty_.Remove(segment);
  empty_bytes_ -= kSegmentSize;
  os::Purge(AddressOf(segment), kSegmentSize);
  segment->state = SegmentState::kPurged;
  purged_.PushFront(segment);
  ++purged_count_;
}

void Arena::PurgeExpired(uint64_t now_ms) {
  // Kept empty segments are bounded by a share of the heap in use, so a small program does not
  // keep tens of MiB it has finished with.
  size_t in_use = (next_fresh_ - purged_count_) * kSegmentSize - empty_bytes_;
  size_t cap = in_use / 4 < kMinEmptyBytes ? kMinEmptyBytes : in_use / 4;
  if (cap > kMaxEmptyBytes) cap = kMaxEmptyBytes;
  // The list is newest first, so the oldest empty segment is last.
  while (SegmentMeta* oldest = empty_.last) {
    if (empty_bytes_ <= cap && now_ms - oldest->empty_since_ms < decay_ms_) break;
    Purge(oldest);
  }
}

size_t Arena::PurgeAll() {
  common::SpinLockGuard guard(lock_);
  size_t released = empty_bytes_;
  while (SegmentMeta* segment = empty_.last) Purge(segment);
  return released;
}

void Arena::Abandon(Page* page) {
  common::SpinLockGuard guard(lock_);
  abandoned_[page->size_class].PushFront(page);
}

Page* Arena::TakeAbandoned(int size_class) {
  if (abandoned_[size_class].empty()) return nullptr;  // racy peek: a miss only costs a page
  common::SpinLockGuard guard(lock_);
  Page* page = abandoned_[size_class].first;
  if (page != nullptr) abandoned_[size_class].Remove(page);
  return page;
}

Heap* Arena::NewHeap() {
  common::SpinLockGuard guard(lock_);
  Heap* heap = free_heaps_;
  if (heap != nullptr) {
    free_heaps_ = heap->next_;
  } else {
    if (heap_slab_left_ < sizeof(Heap)) {
      void* slab = os::Reserve(kHeapSlabBytes);
      if (slab == nullptr || !os::Commit(slab, kHeapSlabBytes, common::HugePages::kOff)) {
        return nullptr;
      }
      heap_slab_ = static_cast<char*>(slab);
      heap_slab_left_ = kHeapSlabBytes;
    }
    heap = reinterpret_cast<Heap*>(heap_slab_);
    size_t step = os::RoundUp(sizeof(Heap), alignof(Heap));
    heap_slab_ += step;
    heap_slab_left_ -= step;
  }
  return heap;
}

void Arena::RetireHeap(Heap* heap) {
  common::SpinLockGuard guard(lock_);
  heap->next_ = free_heaps_;
  free_heaps_ = heap;
}

ArenaStats Arena::Stats() {
  common::SpinLockGuard guard(lock_);
  ArenaStats stats{};
  stats.reserved_bytes = size_;
  stats.committed_bytes = next_fresh_ * kSegmentSize;
  for (size_t i = 0; i < next_fresh_; ++i) {
    SegmentMeta& segment = segments_[i];
    if (segment.state == SegmentState::kEmpty) {
      stats.empty_segments++;
    } else if (segment.state == SegmentState::kPurged) {
      stats.purged_segments++;
    } else if (segment.state == SegmentState::kActive) {
      stats.active_segments++;
      for (int p = 0; p < PagesPerSegment(segment.kind); ++p) {
        const Page& page = FirstPageOf(&segment)[p * SlicesPerPage(segment.kind)];
        if (page.block_size == 0) continue;
        stats.pages_in_use++;
        stats.bytes_in_use += size_t{page.used()} * page.block_size;
      }
    }
  }
  return stats;
}

}  // namespace poolscope::engine::pool
