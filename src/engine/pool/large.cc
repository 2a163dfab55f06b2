#include "engine/pool/large.h"

#include <cstring>

#include "engine/pool/os.h"

namespace poolscope::engine::pool {
namespace {

constexpr size_t kHugeRoundingFrom = size_t{16} << 20;
constexpr size_t kInitialCapacity = 1024;

size_t Hash(uintptr_t address) {
  // Mappings are page aligned: drop the constant low bits, then mix.
  uint64_t x = address >> 12;
  x *= 0x9e3779b97f4a7c15ULL;
  return static_cast<size_t>(x ^ (x >> 29));
}

}  // namespace

size_t LargeBlocks::MappingLength(size_t size) const {
  return os::RoundUp(size, size >= kHugeRoundingFrom ? os::kHugePageSize : os::kPageSize);
}

void LargeBlocks::AdviseIfHuge(void* p, size_t length) {
  if (length >= os::kHugePageSize) os::AdviseHugePages(p, length, mode_);
}

LargeBlocks::Entry* LargeBlocks::Find(uintptr_t address) {
  if (capacity_ == 0) return nullptr;
  for (size_t i = Hash(address) & (capacity_ - 1);; i = (i + 1) & (capacity_ - 1)) {
    Entry& e = table_[i];
    if (e.address == address) return &e;
    if (e.address == 0) return nullptr;
  }
}

bool LargeBlocks::Grow() {
  size_t capacity = capacity_ == 0 ? kInitialCapacity : capacity_ * 2;
  size_t bytes = os::RoundUp(capacity * sizeof(Entry), os::kPageSize);
  auto* table = static_cast<Entry*>(os::MapAligned(bytes, os::kPageSize));
  if (table == nullptr) return false;
  Entry* old = table_;
  size_t old_capacity = capacity_;
  table_ = table;
  capacity_ = capacity;
  used_slots_ = 0;
  for (size_t i = 0; i < old_capacity; ++i) {
    if (old[i].address > kTombstone) {
      size_t j = Hash(old[i].address) & (capacity_ - 1);
      while (table_[j].address != 0) j = (j + 1) & (capacity_ - 1);
      table_[j] = old[i];
      ++used_slots_;
    }
  }
  if (old != nullptr) os::Release(old, os::RoundUp(old_capacity * sizeof(Entry), os::kPageSize));
  return true;
}

bool LargeBlocks::Insert(const Entry& entry) {
  // At most half full, counting tombstones, so probes stay short and always end.
  if ((used_slots_ + 1) * 2 > capacity_ && !Grow()) return false;
  size_t i = Hash(entry.address) & (capacity_ - 1);
  while (table_[i].address > kTombstone) i = (i + 1) & (capacity_ - 1);
  if (table_[i].address == 0) ++used_slots_;
  table_[i] = entry;
  ++live_;
  mapped_bytes_ += entry.length;
  return true;
}

void* LargeBlocks::TakeCached(size_t length, size_t alignment) {
  // Take a mapping at least as long and at most a quarter longer: a much longer one would
  // keep memory the new owner does not need.
  int best = -1;
  for (int i = 0; i < kCacheSlots; ++i) {
    size_t have = cache_[i].length;
    if (cache_[i].address == 0 || (cache_[i].address & (alignment - 1)) != 0 || have < length ||
        have - length > length / 4) {
      continue;
    }
    if (best < 0 || have < cache_[best].length) best = i;
  }
  if (best < 0) return nullptr;
  CachedMapping m = cache_[best];
  cache_[best] = {};
  cached_bytes_ -= m.length;
  if (m.length != length) {
    // Trim the tail so the registry length is the block's own.
    os::ResizeInPlace(reinterpret_cast<void*>(m.address), m.length, length);
  }
  return reinterpret_cast<void*>(m.address);
}

void LargeBlocks::ExpireCache(uint64_t now_ms, size_t incoming) {
  for (int i = 0; i < kCacheSlots; ++i) {
    CachedMapping& m = cache_[i];
    if (m.address == 0) continue;
    if (now_ms - m.freed_ms >= decay_ms_ || cached_bytes_ + incoming > kMaxCachedBytes) {
      os::Release(reinterpret_cast<void*>(m.address), m.length);
      cached_bytes_ -= m.length;
      m = {};
    }
  }
}

void* LargeBlocks::Allocate(size_t size, size_t alignment, bool zeroed) {
  size_t length = MappingLength(size);
  size_t align = size >= os::kHugePageSize ? os::kHugePageSize : os::kPageSize;
  if (alignment > align) align = alignment;
  void* p;
  {
    common::SpinLockGuard guard(lock_);
    ExpireCache(os::NowMs(), 0);
    p = TakeCached(length, align);
  }
  bool fresh = p == nullptr;
  if (fresh) {
    p = os::MapAligned(length, align);
    if (p == nullptr) return nullptr;
    AdviseIfHuge(p, length);
  }
  {
    common::SpinLockGuard guard(lock_);
    if (!Insert({reinterpret_cast<uintptr_t>(p), length, align})) {
      os::Release(p, length);
      return nullptr;
    }
  }
  if (zeroed && !fresh) memset(p, 0, size);
  return p;
}

bool LargeBlocks::Free(void* p) {
  auto address = reinterpret_cast<uintptr_t>(p);
  size_t length;
  {
    common::SpinLockGuard guard(lock_);
    Entry* e = Find(address);
    if (e == nullptr) return false;
    length = e->length;
    e->address = kTombstone;
    --live_;
    mapped_bytes_ -= length;
    uint64_t now = os::NowMs();
    ExpireCache(now, length);
    if (length <= kMaxCachedBlock) {
      for (CachedMapping& m : cache_) {
        if (m.address == 0) {
          m = {address, length, now};
          cached_bytes_ += length;
          return true;
        }
      }
    }
  }
  os::Release(p, length);
  return true;
}

size_t LargeBlocks::UsableSize(const void* p) {
  common::SpinLockGuard guard(lock_);
  Entry* e = Find(reinterpret_cast<uintptr_t>(p));
  return e == nullptr ? 0 : e->length;
}

bool LargeBlocks::IsCachedFreeBlock(const void* p) {
  common::SpinLockGuard guard(lock_);
  for (const CachedMapping& m : cache_) {
    if (m.address != 0 && m.address == reinterpret_cast<uintptr_t>(p)) return true;
  }
  return false;
}

void* LargeBlocks::Reallocate(void* p, size_t size) {
  auto address = reinterpret_cast<uintptr_t>(p);
  Entry old;
  {
    common::SpinLockGuard guard(lock_);
    Entry* e = Find(address);
    if (e == nullptr) return nullptr;
    old = *e;
  }
  size_t length = MappingLength(size);
  if (length <= old.length && length >= old.length / 2) return p;
  if (length > old.length) {
    // Slack for the next growth step; untouched pages cost no memory.
    length = MappingLength(size + size / 4);
  }
  void* moved = p;
  if (!os::ResizeInPlace(p, old.length, length)) {
    size_t align = length >= os::kHugePageSize ? os::kHugePageSize : os::kPageSize;
    if (old.alignment > align) align = old.alignment;
    moved = os::MoveAligned(p, old.length, length, align);
    if (moved == nullptr) return nullptr;
  }
  AdviseIfHuge(moved, length);
  common::SpinLockGuard guard(lock_);
  Entry* e = Find(address);
  e->address = kTombstone;
  --live_;
  mapped_bytes_ -= old.length;
  // Cannot fail for lack of room: a slot was just freed and the table is at most half full.
  Insert({reinterpret_cast<uintptr_t>(moved), length, old.alignment});
  return moved;
}

size_t LargeBlocks::Trim() {
  common::SpinLockGuard guard(lock_);
  size_t released = cached_bytes_;
  ExpireCache(UINT64_MAX / 2, kMaxCachedBytes + 1);
  return released;
}

LargeStats LargeBlocks::Stats() {
  common::SpinLockGuard guard(lock_);
  return {live_, mapped_bytes_, cached_bytes_};
}

}  // namespace poolscope::engine::pool
