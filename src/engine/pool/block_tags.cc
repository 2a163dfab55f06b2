#include "engine/pool/block_tags.h"

#include "engine/pool/fast_path.h"
#include "engine/pool/os.h"

namespace poolscope::engine::pool {

constinit BlockTags block_tags;

bool BlockTags::Reserve(const Arena* arena) {
  size_t count = arena->size() / kMinBlockSize;
  size_t bytes = count * sizeof(uint64_t);
  // Committed whole, as the arena's metadata: untouched words cost nothing.
  void* memory = os::Reserve(bytes);
  if (memory == nullptr) return false;
  if (!os::Commit(memory, bytes, common::HugePages::kOff)) {
    os::Release(memory, bytes);
    return false;
  }
  arena_ = arena;
  slots_ = static_cast<uint64_t*>(memory);
  count_ = count;
  return true;
}

uint64_t* BlockTags::SlotOf(const void* p) const {
  if (!arena_->Contains(p)) return nullptr;
  const Page* page = arena_->PageOf(p);
  uintptr_t start = page->start;
  uint64_t offset = reinterpret_cast<uintptr_t>(p) - start;
  if (!IsCarvedBlockOffset(page, offset)) return nullptr;
  // Block k's offset times the block check's multiplier is k * 2^64 + k * e, with k * e far
  // below 2^64 (Page::block_test_multiplier): the high half is k, with no division.
  auto block = static_cast<uint64_t>(
      (static_cast<unsigned __int128>(offset) * page->block_test_multiplier) >> 64);
  size_t slot = (start - arena_->base()) / kMinBlockSize + block;
  // A valid block's word is always inside. The test is for a bogus pointer into a page that
  // another thread is releasing: the fields read above may then belong to different states.
  return slot < count_ ? &slots_[slot] : nullptr;
}

}  // namespace poolscope::engine::pool
