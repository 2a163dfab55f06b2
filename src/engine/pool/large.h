// Large blocks: requests above kMaxPooledSize, each in a mapping of its own.
//
// Blocks of 2 MiB and more start on a huge-page boundary and are madvised for transparent
// huge pages; from 16 MiB their length is rounded to whole huge pages too (the rounding then
// wastes under 12.5 %). realloc grows a block with mremap, moving page tables rather than
// copying bytes, into a fresh huge-page-aligned range when it cannot grow in place, and
// leaves a quarter of slack so a growth loop does not remap on every step.
//
// Every block is in a registry (an open-addressing hash table keyed by address, in memory of
// its own), which is how free, realloc and malloc_usable_size recognise large blocks — they
// live outside the arena's range. Freed mappings up to 4 MiB are kept in a small cache
// (16 MiB at most) for reuse, and unmapped after the decay time or when the cache is full.
#ifndef POOLSCOPE_SRC_ENGINE_POOL_LARGE_H_
#define POOLSCOPE_SRC_ENGINE_POOL_LARGE_H_

#include <cstddef>
#include <cstdint>

#include "common/config.h"
#include "common/spinlock.h"

namespace poolscope::engine::pool {

struct LargeStats {
  size_t blocks;
  size_t mapped_bytes;
  size_t cached_bytes;
};

class LargeBlocks {
 public:
  void Init(common::HugePages mode, uint32_t decay_ms) {
    mode_ = mode;
    decay_ms_ = decay_ms;
  }

  // alignment is 0 or a power of two. Memory is zeroed when `zeroed` (fresh mappings are
  // already zero: no memset then).
  void* Allocate(size_t size, size_t alignment, bool zeroed);
  // False when `p` is not a large block of ours (the caller then looks elsewhere).
  bool Free(void* p);
  // 0 when `p` is not a large block of ours.
  size_t UsableSize(const void* p);
  // Resizes a block that UsableSize() recognised; nullptr (block intact) on failure.
  void* Reallocate(void* p, size_t size);
  // Whether `p` is the start of a freed mapping still in the cache (a double free).
  bool IsCachedFreeBlock(const void* p);

  size_t Trim();  // empties the cache; returns the bytes unmapped
  LargeStats Stats();

  bool HeldByCurrentThread() const { return lock_.HeldByCurrentThread(); }
  void LockForFork() { fork_taken_ = lock_.LockForFork(); }
  void UnlockInParent() { lock_.AfterForkInParent(fork_taken_); }
  void ResetInChild() { lock_.ResetInChild(); }

 private:
  struct Entry {
    uintptr_t address;  // 0: empty slot; kTombstone: deleted
    size_t length;      // of the mapping, which starts at `address`
    size_t alignment;
  };
  struct CachedMapping {
    uintptr_t address;
    size_t length;
    uint64_t freed_ms;
  };
  static constexpr uintptr_t kTombstone = 1;
  static constexpr int kCacheSlots = 16;
  // Only blocks small enough to be churned are kept: a freed 256 MiB array would hold its
  // memory for the decay time to save one mmap call.
  static constexpr size_t kMaxCachedBytes = size_t{16} << 20;
  static constexpr size_t kMaxCachedBlock = size_t{4} << 20;

  size_t MappingLength(size_t size) const;
  void AdviseIfHuge(void* p, size_t length);
  Entry* Find(uintptr_t address);   // lock held
  bool Insert(const Entry& entry);  // lock held
  bool Grow();                      // lock held
  void* TakeCached(size_t length, size_t alignment);  // lock held
  void ExpireCache(uint64_t now_ms, size_t incoming);  // lock held

  common::SpinLock lock_;
  bool fork_taken_ = false;
  common::HugePages mode_ = common::HugePages::kThp;
  uint32_t decay_ms_ = 0;
  Entry* table_ = nullptr;
  size_t capacity_ = 0;  // a power of two
  size_t used_slots_ = 0;  // live entries and tombstones
  size_t live_ = 0;
  size_t mapped_bytes_ = 0;
  CachedMapping cache_[kCacheSlots] = {};
  size_t cached_bytes_ = 0;
};

}  // namespace poolscope::engine::pool

#endif  // POOLSCOPE_SRC_ENGINE_POOL_LARGE_H_
