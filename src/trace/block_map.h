// Which recorded block lives at an address: address -> block key (trace_format.h's BlockKey),
// so frees and reallocs name the allocation they end instead of carrying an address.
//
// Sharded by address; each shard is a locked open-addressing table (linear probing, deletion
// by backward shift, so churn leaves no tombstones) in memory mapped for it, doubled as it
// fills. Each shard is capped at its share of the total, counted under its own lock (a shared
// atomic counter cost as much as the lock itself): past the cap Insert fails and the caller
// records the block by its address instead.
#ifndef POOLSCOPE_SRC_TRACE_BLOCK_MAP_H_
#define POOLSCOPE_SRC_TRACE_BLOCK_MAP_H_

#include <cstddef>
#include <cstdint>

#include "common/spinlock.h"

namespace poolscope::trace {

class BlockMap {
 public:
  // At most `max_blocks` entries at once, max_blocks / 64 (rounded up) per shard.
  void Init(size_t max_blocks) { max_per_shard_ = (max_blocks + kShards - 1) / kShards; }

  // Maps `address` to `key`, replacing what it held (a block freed unseen, or an earlier
  // attempt at the same record). False when the cap, or memory, leaves no room.
  bool Insert(uintptr_t address, uint64_t key);
  // Removes `address` and returns its key; 0 when it holds none.
  uint64_t Take(uintptr_t address);

  // Exact only while no other thread changes the map.
  size_t size() const;

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
  static constexpr size_t kShards = size_t{1} << kShardBits;
  static constexpr size_t kFirstCapacity = 1024;

  static uint64_t Hash(uintptr_t address) { return (address >> 3) * 0x9e3779b97f4a7c15ULL; }
  static Shard& ShardOf(Shard* shards, uint64_t hash) { return shards[hash >> (64 - kShardBits)]; }
  static size_t Home(size_t mask, uint64_t hash) { return static_cast<size_t>(hash >> 16) & mask; }
  bool Grow(Shard& s);

  Shard shards_[kShards];
  bool taken_for_fork_[kShards] = {};
  size_t max_per_shard_ = 0;
};

}  // namespace poolscope::trace

#endif  // POOLSCOPE_SRC_TRACE_BLOCK_MAP_H_
