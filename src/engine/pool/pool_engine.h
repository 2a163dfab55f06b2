// The pool engine: per-thread size-class pools in huge-page segments (heap.h, arena.h) for
// blocks up to 64 KiB, mappings of their own for larger ones (large.h), and glibc for
// pointers it never handed out (foreign.h).
//
// Aligned requests never produce interior pointers: an alignment up to 64 KiB is served from a
// size class that is a multiple of it (pages start on 64 KiB boundaries), anything larger from
// a large block whose mapping is aligned. So every pointer we hand out is a block start, and
// free can check that cheaply.
#ifndef POOLSCOPE_SRC_ENGINE_POOL_POOL_ENGINE_H_
#define POOLSCOPE_SRC_ENGINE_POOL_POOL_ENGINE_H_

#include "common/bump_arena.h"
#include "engine/engine.h"
#include "engine/pool/large.h"

namespace poolscope::engine::pool {

class EngineEntry;

class PoolEngine final : public Engine {
 public:
  static PoolEngine& Instance();

  bool Init(const common::Config& config) override;
  void* Allocate(size_t size) override;
  void* AllocateZeroed(size_t size) override;
  void* AllocateAligned(size_t alignment, size_t size) override;
  void* Reallocate(void* ptr, size_t size) override;
  void Free(void* ptr) override;
  size_t UsableSize(void* ptr) override;
  struct mallinfo2 Info() override;
  int Trim(size_t pad) override;
  int SetOption(int param, int value) override;
  void PrintStats() override;
  int WriteInfoXml(int options, FILE* out) override;
  void ForkPrepare() override;
  void ForkParent() override;
  void ForkChild() override;
  void EnableFastPath(bool at_entry_points) override;
  BlockTagSlotOf EnableBlockTags() override;
  void* MoveSampledBlock(void* ptr, size_t size, size_t alignment, bool keep_contents) override;
  void FreeSampledBlock(void* ptr) override;
  common::EngineKind kind() const override { return common::EngineKind::kPool; }

 private:
  void* ReallocateForeign(void* ptr, size_t size);
  // `moved_sample`: ptr is a block MoveSampledBlock returned, not a pointer to recognise.
  void FreeForeign(void* ptr, bool moved_sample);
  // Free for callers already inside an EngineEntry.
  [[gnu::always_inline]] inline void FreeInEntry(const EngineEntry& entry, void* ptr);
  [[gnu::cold, gnu::noinline]] void FreeOutsidePool(void* ptr, bool moved_sample);
  [[gnu::cold, gnu::noinline]] void* AllocateNested(size_t size, size_t alignment);
  [[gnu::cold, gnu::noinline]] void FreeNestedOutsidePool(void* ptr);

  LargeBlocks large_;
  common::BumpArena nested_reserve_;
  Engine* glibc_ = nullptr;
};

}  // namespace poolscope::engine::pool

#endif  // POOLSCOPE_SRC_ENGINE_POOL_POOL_ENGINE_H_
