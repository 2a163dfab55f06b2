#include "engine/pool/pool_engine.h"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "common/log.h"
#include "engine/libc/libc_engine.h"
#include "engine/pool/arena.h"
#include "engine/pool/block_tags.h"
#include "engine/pool/foreign.h"
#include "engine/pool/fast_path.h"
#include "engine/pool/heap.h"
#include "engine/pool/os.h"

namespace poolscope::engine::pool {

constinit FastPathLimits fast_path;
constinit FastPathLimits inline_path;

namespace {

constexpr size_t kMaxRangeBytes = size_t{256} << 30;
constexpr size_t kNestedReserveBytes = size_t{16} << 20;
constexpr size_t kMaxPooledAlignment = size_t{64} << 10;

// The range takes at most a quarter of an address-space limit (ulimit -v): the program needs
// the rest.
size_t RangeToReserve() {
  struct rlimit limit;
  if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      limit.rlim_cur / 4 < kMaxRangeBytes) {
    return os::RoundUp(limit.rlim_cur / 4, kSegmentSize) - kSegmentSize;
  }
  return kMaxRangeBytes;
}

}  // namespace

void ReportBadBlock(Page* page, void* p, const char* call, bool freed) {
  ReportInvalidPointer(call, p,
                       freed                  ? "was already freed (double free)"
                       : page->block_size == 0 ? "points into pool memory not in use"
                                               : "points inside a block, not at its start");
}

PoolEngine& PoolEngine::Instance() {
  static constinit PoolEngine engine;
  return engine;
}

bool PoolEngine::Init(const common::Config& config) {
  // glibc's allocator stays reachable for pointers it handed out before or around us.
  glibc_ = &libc::LibcEngine::Instance();
  if (!glibc_->Init(config)) return false;
  if (!arena.Init(RangeToReserve(), config.huge_pages, config.decay_ms)) return false;
  large_.Init(config.huge_pages, config.decay_ms);
  void* reserve = os::Reserve(kNestedReserveBytes);
  if (reserve == nullptr || !os::Commit(reserve, kNestedReserveBytes, common::HugePages::kOff)) {
    return false;
  }
  nested_reserve_.Reset(static_cast<char*>(reserve), kNestedReserveBytes);
  return InitThreadHeaps();
}

void FreeInArenaOutOfLine(void* p) {
  EngineEntry entry;
  FreeInArena(entry.heap(), p);
}

void SettleAfterLocalFreeAndLeave(Heap* heap, Page* page) {
  heap->AfterLocalFree(page);
  EngineEntry::Leave(heap);
}

void PoolEngine::EnableFastPath(bool at_entry_points) {
  inline_path.base = arena.base();
  inline_path.range = arena.size();
  inline_path.allocation_limit = kMaxSmallSize + 1;
  if (at_entry_points) fast_path = inline_path;
}

BlockTagSlotOf PoolEngine::EnableBlockTags() {
  if (!block_tags.Reserve(&arena)) return nullptr;
  return [](const void* block) { return block_tags.SlotOf(block); };
}

void* PoolEngine::Allocate(size_t size) {
  EngineEntry entry;
  if (entry.nested()) [[unlikely]] return AllocateNested(size, 0);
  if (size <= kMaxPooledSize) [[likely]] return entry.HeapForAllocation()->Allocate(size);
  return large_.Allocate(size, 0, false);
}

void* PoolEngine::AllocateNested(size_t size, size_t alignment) {
  // The interrupted call may hold the large-block lock; waiting for it would never end.
  if (!large_.HeldByCurrentThread()) return large_.Allocate(size, alignment, true);
  return nested_reserve_.Allocate(size, alignment);
}

void* PoolEngine::AllocateZeroed(size_t size) {
  EngineEntry entry;
  if (entry.nested()) [[unlikely]] return AllocateNested(size, 0);
  if (size > kMaxPooledSize) return large_.Allocate(size, 0, true);
  void* p = entry.HeapForAllocation()->Allocate(size);
  if (p != nullptr) memset(p, 0, size);
  return p;
}

void* PoolEngine::AllocateAligned(size_t alignment, size_t size) {
  EngineEntry entry;
  if (entry.nested()) [[unlikely]] return AllocateNested(size, alignment);
  if (alignment <= kMaxPooledAlignment && size <= kMaxPooledSize) {
    size_t need = size < alignment ? alignment : size;
    if (ClassSize(SizeClassOf(need)) % alignment != 0) {
      // Power-of-two classes are aligned to their size.
      need = size_t{1} << (64 - __builtin_clzll(need - 1));
    }
    if (need <= kMaxPooledSize) return entry.HeapForAllocation()->Allocate(need);
  }
  return large_.Allocate(size, alignment, false);
}

void PoolEngine::Free(void* p) {
  EngineEntry entry;
  FreeInEntry(entry, p);
}

// A nested call frees pooled blocks as any other (FreeInArena: the busy heap owns no page).
void PoolEngine::FreeInEntry(const EngineEntry& entry, void* p) {
  if (arena.Contains(p)) [[likely]] return FreeInArena(entry.heap(), p);
  if (entry.nested()) [[unlikely]] return FreeNestedOutsidePool(p);
  FreeOutsidePool(p, false);
}

// Called inside an EngineEntry that is not nested (Free's, Reallocate's, FreeSampledBlock's).
void PoolEngine::FreeOutsidePool(void* p, bool moved_sample) {
  // Past the pool every path may make system calls (munmap, process_vm_readv).
  int saved_errno = errno;
  if (!large_.Free(p)) FreeForeign(p, moved_sample);
  errno = saved_errno;
}

void PoolEngine::FreeNestedOutsidePool(void* p) {
  if (nested_reserve_.Owns(p)) return;
  // The interrupted call may hold the large-block lock: then the block is leaked, not risked.
  if (!large_.HeldByCurrentThread()) FreeOutsidePool(p, false);
}

// A block MoveSampledBlock made is glibc's: no need to recognise a glibc chunk by its header
// (two system calls), as a pointer nobody vouches for must be.
void PoolEngine::FreeForeign(void* p, bool moved_sample) {
  if (nested_reserve_.Owns(p)) return;  // reserve blocks are never reused
  if (moved_sample) return glibc_->Free(p);
  if (large_.IsCachedFreeBlock(p)) {
    ReportInvalidPointer("free", p, "was already freed (double free)");
    return;
  }
  const char* why;
  if (ClassifyForeign(p, &why) == ForeignKind::kGlibcChunk) {
    glibc_->Free(p);
  } else {
    ReportInvalidPointer("free", p, why);
  }
}

// Out of the arena, into glibc's heap: the fast paths never free there. Sampled blocks are
// few (one per 512 KiB allocated by default), so their place matters little; what matters is
// that every block in the arena is known unsampled, at no cost to the fast paths.
void* PoolEngine::MoveSampledBlock(void* p, size_t size, size_t alignment, bool keep_contents) {
  if (!arena.Contains(p)) return p;
  // A signal handler's allocation on a thread that is inside the engine, perhaps inside
  // glibc's allocator (FreeSampledBlock, FreeForeign), must not call into glibc's: that
  // sample is dropped.
  if (fast_thread.heap == &busy_heap) return nullptr;
  void* moved = alignment <= 16 ? glibc_->Allocate(size) : glibc_->AllocateAligned(alignment, size);
  if (moved == nullptr) return nullptr;
  if (keep_contents) memcpy(moved, p, size);
  Free(p);
  return moved;
}

void PoolEngine::FreeSampledBlock(void* p) {
  EngineEntry entry;
  if (arena.Contains(p) || entry.nested()) [[unlikely]] return FreeInEntry(entry, p);
  FreeOutsidePool(p, true);
}

void* PoolEngine::Reallocate(void* p, size_t size) {
  EngineEntry entry;
  if (entry.nested()) [[unlikely]] {
    if (large_.HeldByCurrentThread()) return nullptr;
    size_t old_size = UsableSize(p);
    void* moved = old_size != 0 ? AllocateNested(size, 0) : nullptr;
    if (moved != nullptr) {
      memcpy(moved, p, old_size < size ? old_size : size);
      FreeInEntry(entry, p);
    }
    return moved;
  }
  size_t old_size;
  if (arena.Contains(p)) {
    Page* page = arena.PageOf(p);
    if (CheckedBlock(page, p, "realloc") == nullptr) return nullptr;
    old_size = page->block_size;
    // Stay put unless the block would be less than half used.
    if (size <= old_size && size >= old_size / 2) return p;
  } else if (nested_reserve_.Owns(p)) {
    old_size = common::BumpArena::SizeOf(p);
  } else if ((old_size = large_.UsableSize(p)) != 0) {
    if (size > kMaxPooledSize) return large_.Reallocate(p, size);
  } else {
    return ReallocateForeign(p, size);
  }
  void* moved = size <= kMaxPooledSize ? entry.HeapForAllocation()->Allocate(size)
                                        : large_.Allocate(size, 0, false);
  if (moved == nullptr) return nullptr;
  memcpy(moved, p, old_size < size ? old_size : size);
  FreeInEntry(entry, p);
  return moved;
}

void* PoolEngine::ReallocateForeign(void* p, size_t size) {
  const char* why;
  if (ClassifyForeign(p, &why) == ForeignKind::kGlibcChunk) return glibc_->Reallocate(p, size);
  ReportInvalidPointer("realloc", p, why);
  return nullptr;
}

size_t PoolEngine::UsableSize(void* p) {
  if (nested_reserve_.Owns(p)) return common::BumpArena::SizeOf(p);
  if (arena.Contains(p)) {
    Page* page = arena.PageOf(p);
    return CheckedBlock(page, p, "malloc_usable_size") != nullptr ? page->block_size : 0;
  }
  if (size_t size = large_.UsableSize(p)) return size;
  const char* why;
  if (ClassifyForeign(p, &why) == ForeignKind::kGlibcChunk) return glibc_->UsableSize(p);
  ReportInvalidPointer("malloc_usable_size", p, why);
  return 0;
}

struct mallinfo2 PoolEngine::Info() {
  ArenaStats a = arena.Stats();
  LargeStats l = large_.Stats();
  struct mallinfo2 info {};
  info.arena = a.committed_bytes;
  info.ordblks = a.pages_in_use;
  info.hblks = l.blocks;
  info.hblkhd = l.mapped_bytes;
  info.uordblks = a.bytes_in_use;
  info.fordblks = a.committed_bytes - a.bytes_in_use;
  info.keepcost = a.empty_segments * kSegmentSize + l.cached_bytes;
  return info;
}

int PoolEngine::Trim(size_t /*pad*/) {
  size_t released = arena.PurgeAll() + large_.Trim();
  return released > 0 ? 1 : 0;
}

int PoolEngine::SetOption(int param, int value) {
  // glibc's tunables mean nothing here. Answer as glibc 2.36 does, so programs that set them
  // carry on: success for everything but an out-of-range M_MXFAST.
  constexpr int kMaxFast = 80 * sizeof(size_t) / 4;
  return param == M_MXFAST && (value < 0 || value > kMaxFast) ? 0 : 1;
}

void PoolEngine::PrintStats() {
  ArenaStats a = arena.Stats();
  LargeStats l = large_.Stats();
  char text[1024];
  size_t n = common::Format(
      text, sizeof(text),
      "poolscope pool engine\n"
      "arena reserved bytes  = %zu\n"
      "committed bytes       = %zu\n"
      "in use bytes          = %zu\n"
      "segments active/empty/purged = %zu/%zu/%zu\n"
      "pages in use          = %zu\n"
      "large blocks          = %zu\n"
      "large mapped bytes    = %zu\n"
      "large cached bytes    = %zu\n"
      "invalid pointers      = %llu\n",
      a.reserved_bytes, a.committed_bytes, a.bytes_in_use, a.active_segments, a.empty_segments,
      a.purged_segments, a.pages_in_use, l.blocks, l.mapped_bytes, l.cached_bytes,
      static_cast<unsigned long long>(InvalidPointerCount()));
  (void)!write(STDERR_FILENO, text, n);
}

int PoolEngine::WriteInfoXml(int options, FILE* out) {
  if (options != 0) return EINVAL;  // as glibc: returned, errno untouched
  ArenaStats a = arena.Stats();
  LargeStats l = large_.Stats();
  fprintf(out,
          "<malloc version=\"poolscope-pool\">\n"
          "<total type=\"committed\" size=\"%zu\"/>\n"
          "<total type=\"in-use\" size=\"%zu\"/>\n"
          "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n"
          "<total type=\"cached\" size=\"%zu\"/>\n"
          "</malloc>\n",
          a.committed_bytes, a.bytes_in_use, l.blocks, l.mapped_bytes,
          l.cached_bytes + a.empty_segments * kSegmentSize);
  return 0;
}

void PoolEngine::ForkPrepare() {
  arena.LockForFork();
  large_.LockForFork();
}

void PoolEngine::ForkParent() {
  large_.UnlockInParent();
  arena.UnlockInParent();
}

// The other threads' heaps stay as fork froze them, possibly mid-update: the child never
// touches them (their pages with live blocks stay theirs; their blocks can still be freed,
// through the remote lists).
void PoolEngine::ForkChild() {
  common::ForgetThreadId();
  large_.ResetInChild();
  arena.ResetInChild();
}

}  // namespace poolscope::engine::pool
