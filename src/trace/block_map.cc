#include "trace/block_map.h"

#include <sys/mman.h>

#include "common/raw_syscalls.h"

namespace poolscope::trace {

bool BlockMap::Grow(Shard& s) {
  size_t capacity = s.table == nullptr ? kFirstCapacity : (s.mask + 1) * 2;
  void* memory = common::RawMmap(nullptr, capacity * sizeof(Entry), PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) return false;
  auto* table = static_cast<Entry*>(memory);
  size_t mask = capacity - 1;
  if (s.table != nullptr) {
    for (size_t i = 0; i <= s.mask; ++i) {
      const Entry& e = s.table[i];
      if (e.address == 0) continue;
      size_t j = Home(mask, Hash(e.address));
      while (table[j].address != 0) j = (j + 1) & mask;
      table[j] = e;
    }
    common::RawMunmap(s.table, (s.mask + 1) * sizeof(Entry));
  }
  s.table = table;
  s.mask = mask;
  return true;
}

bool BlockMap::Insert(uintptr_t address, uint64_t key) {
  uint64_t hash = Hash(address);
  Shard& s = ShardOf(shards_, hash);
  common::SpinLockGuard guard(s.lock);
  // Below 5/8 full, so probe runs stay short.
  if ((s.table == nullptr || (s.count + 1) * 8 > (s.mask + 1) * 5) && !Grow(s)) return false;
  for (size_t i = Home(s.mask, hash);; i = (i + 1) & s.mask) {
    Entry& e = s.table[i];
    if (e.address == address) {
      e.key = key;
      return true;
    }
    if (e.address == 0) {
      if (s.count >= max_per_shard_) return false;
      e.address = address;
      e.key = key;
      ++s.count;
      return true;
    }
  }
}

uint64_t BlockMap::Take(uintptr_t address) {
  uint64_t hash = Hash(address);
  Shard& s = ShardOf(shards_, hash);
  common::SpinLockGuard guard(s.lock);
  if (s.table == nullptr) return 0;
  size_t i = Home(s.mask, hash);
  while (s.table[i].address != address) {
    if (s.table[i].address == 0) return 0;
    i = (i + 1) & s.mask;
  }
  uint64_t key = s.table[i].key;
  // Backward shift: pull later entries of the run into the hole when their home allows it.
  for (size_t j = (i + 1) & s.mask;; j = (j + 1) & s.mask) {
    Entry& e = s.table[j];
    if (e.address == 0) break;
    size_t home = Home(s.mask, Hash(e.address));
    bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
    if (movable) {
      s.table[i] = e;
      i = j;
    }
  }
  s.table[i].address = 0;
  --s.count;
  return key;
}

size_t BlockMap::size() const {
  size_t total = 0;
  for (const Shard& s : shards_) total += s.count;
  return total;
}

void BlockMap::LockForFork() {
  for (size_t i = 0; i < kShards; ++i) taken_for_fork_[i] = shards_[i].lock.LockForFork();
}

void BlockMap::AfterForkInParent() {
  for (size_t i = 0; i < kShards; ++i) shards_[i].lock.AfterForkInParent(taken_for_fork_[i]);
}

void BlockMap::ResetInChild() {
  for (Shard& s : shards_) s.lock.ResetInChild();
}

}  // namespace poolscope::trace
