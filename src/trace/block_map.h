// Which recorded block lives at an address: address -> block key (trace_format.h's BlockKey),
// so frees and reallocs name the allocation they end instead of carrying an address.
//
// Sharded by address; each shard is a locked open-addressing table (linear probing, deletion
// by backward shift, so churn leaves no tombstones) in memory mapped for it, doubled as it
// fills. The total is capped: past the cap Insert fails and the caller records the block by
// its address instead.
#ifndef POOLSCOPE_SRC_TRACE_BLOCK_MAP_H_
#define POOLSCOPE_SRC_TRACE_BLOCK_MAP_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "common/spinlock.h"

namespace poolscope::trace {

class BlockMap {
 public:
  // At most `max_blocks` entries at once.
  void Init(size_t max_blocks) { max_blocks_ = max_blocks; }

  // Maps `address` to `key`, replacing what it held (a block freed unseen, or an earlier
  // attempt at the same record). False when the cap, or memory, leaves no room.
  bool Insert(uintptr_t address, uint64_t key);
  // Removes `address` and returns its key; 0 when it holds none.
  uint64_t Take(uintptr_t address);

  size_t size() const { return total_.load(std::memory_order_relaxed); }

  // Around fork: every shard is taken first, so the child never inherits a table mid-update.
  void LockForFork();
  void AfterForkInParent();
  void ResetInChild();

 private:
  struct Entry {
    uintptr_t address;  // 0: empty
    uint64_t key;
  };
  struct alignas(64) Shard {
    common::SpinLock lock;
    Entry* table = nullptr;
    size_t mask = 0;
    size_t count = 0;
  };
  static constexpr int kShardBits = 6;
  static constexpr size_t kFirstCapacity = 1024;

  static uint64_t Hash(uintptr_t address) { return (address >> 3) * 0x9e3779b97f4a7c15ULL; }
  static Shard& ShardOf(Shard* shards, uint64_t hash) { return shards[hash >> (64 - kShardBits)]; }
  static size_t Home(size_t mask, uint64_t hash) { return static_cast<size_t>(hash >> 16) & mask; }
  bool Grow(Shard& s);

  Shard shards_[1 << kShardBits];
  bool taken_for_fork_[1 << kShardBits] = {};
  std::atomic<size_t> total_{0};
  size_t max_blocks_ = 0;
};

}  // namespace poolscope::trace

#endif  // POOLSCOPE_SRC_TRACE_BLOCK_MAP_H_
