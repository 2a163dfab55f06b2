#include "engine/pool/pool_engine.h"

#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>
#include <x86intrin.h>

#include <atomic>
#include <cstring>

#include "common/log.h"
#include "engine/libc/libc_engine.h"
#include "engine/pool/arena.h"
#include "engine/pool/foreign.h"
#include "engine/pool/heap.h"
#include "engine/pool/os.h"

namespace poolscope::engine::pool {

uintptr_t free_marker_key = 0;

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

uintptr_t RandomKey() {
  uintptr_t key = 0;
  if (getrandom(&key, sizeof(key), GRND_NONBLOCK) != sizeof(key)) {
    key = __rdtsc() ^ reinterpret_cast<uintptr_t>(&key);
  }
  return key | 1;  // never zero, the marker of a block in use
}

// Set while this thread is inside the engine (see the header: signal handlers that allocate).
__thread bool inside_engine __attribute__((tls_model("initial-exec"))) = false;

class EngineEntry {
 public:
  EngineEntry() {
    inside_engine = true;
    // Only the compiler may reorder across here; a signal runs on this same thread.
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  ~EngineEntry() {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    inside_engine = false;
  }
};

[[gnu::cold, gnu::noinline]] void ReportBadBlock(Page* page, void* p, const char* call,
                                                bool freed) {
  ReportInvalidPointer(call, p,
                       freed                  ? "was already freed (double free)"
                       : page->block_size == 0 ? "points into pool memory not in use"
                                               : "points inside a block, not at its start");
}

// The block `p` points to, or null (after reporting) when `p` is not a block start in use.
// Kept small and inline: it is on every free.
inline Block* CheckedBlock(Page* page, void* p, const char* call) {
  uintptr_t offset = reinterpret_cast<uintptr_t>(p) - page->start;
  uint64_t index = (offset * page->reciprocal) >> 40;
  auto* block = static_cast<Block*>(p);
  bool misplaced = index * page->block_size != offset || index >= page->capacity;
  if (misplaced || block->free_marker == (free_marker_key ^ reinterpret_cast<uintptr_t>(block)))
      [[unlikely]] {
    ReportBadBlock(page, p, call, !misplaced);
    return nullptr;
  }
  return block;
}

// The block `p` points to, marked free, or null (after reporting) when `p` may not be freed.
inline Block* TakeBlock(Page* page, void* p, const char* call) {
  Block* block = CheckedBlock(page, p, call);
  if (block != nullptr) [[likely]] {
    block->free_marker = free_marker_key ^ reinterpret_cast<uintptr_t>(block);
  }
  return block;
}

}  // namespace

PoolEngine& PoolEngine::Instance() {
  static constinit PoolEngine engine;
  return engine;
}

bool PoolEngine::Init(const common::Config& config) {
  // glibc's allocator stays reachable for pointers it handed out before or around us.
  glibc_ = &libc::LibcEngine::Instance();
  if (!glibc_->Init(config)) return false;
  free_marker_key = RandomKey();
  if (!arena.Init(RangeToReserve(), config.huge_pages, config.decay_ms)) return false;
  large_.Init(config.huge_pages, config.decay_ms);
  void* reserve = os::Reserve(kNestedReserveBytes);
  if (reserve == nullptr || !os::Commit(reserve, kNestedReserveBytes, common::HugePages::kOff)) {
    return false;
  }
  nested_reserve_.Reset(static_cast<char*>(reserve), kNestedReserveBytes);
  return InitThreadHeaps();
}

void* PoolEngine::Allocate(size_t size) {
  if (inside_engine) [[unlikely]] return AllocateNested(size, 0);
  EngineEntry entry;
  if (size <= kMaxPooledSize) [[likely]] return Heap::Current()->Allocate(size);
  return large_.Allocate(size, 0, false);
}

void* PoolEngine::AllocateNested(size_t size, size_t alignment) {
  // The interrupted call may hold the large-block lock; waiting for it would never end.
  if (!large_.HeldByCurrentThread()) return large_.Allocate(size, alignment, true);
  return nested_reserve_.Allocate(size, alignment);
}

void* PoolEngine::AllocateZeroed(size_t size) {
  if (inside_engine) [[unlikely]] return AllocateNested(size, 0);
  EngineEntry entry;
  if (size > kMaxPooledSize) return large_.Allocate(size, 0, true);
  void* p = Heap::Current()->Allocate(size);
  if (p != nullptr) memset(p, 0, size);
  return p;
}

void* PoolEngine::AllocateAligned(size_t alignment, size_t size) {
  if (inside_engine) [[unlikely]] return AllocateNested(size, alignment);
  EngineEntry entry;
  if (alignment <= kMaxPooledAlignment && size <= kMaxPooledSize) {
    size_t need = size < alignment ? alignment : size;
    if (ClassSize(SizeClassOf(need)) % alignment != 0) {
      // Power-of-two classes are aligned to their size.
      need = size_t{1} << (64 - __builtin_clzll(need - 1));
    }
    if (need <= kMaxPooledSize) return Heap::Current()->Allocate(need);
  }
  return large_.Allocate(size, alignment, false);
}

void PoolEngine::Free(void* p) {
  if (inside_engine) [[unlikely]] return FreeNested(p);
  EngineEntry entry;
  FreePooled(p);
}

// Straight-line code for a pooled block; everything else is a call to a cold function.
void PoolEngine::FreePooled(void* p) {
  if (!arena.Contains(p)) [[unlikely]] return FreeOutsidePool(p);
  Page* page = arena.PageOf(p);
  Block* block = TakeBlock(page, p, "free");
  if (block == nullptr) [[unlikely]] return;
  Heap* heap = Heap::Current();
  if (page->heap.load(std::memory_order_relaxed) == heap) [[likely]] {
    heap->FreeLocal(page, block);
  } else {
    FreeRemote(page, block);
  }
}

// Called inside an EngineEntry (Free's or Reallocate's).
void PoolEngine::FreeOutsidePool(void* p) {
  // Past the pool every path may make system calls (munmap, process_vm_readv).
  int saved_errno = errno;
  if (!large_.Free(p)) FreeForeign(p);
  errno = saved_errno;
}

void PoolEngine::FreeNested(void* p) {
  if (arena.Contains(p)) {
    Page* page = arena.PageOf(p);
    // Even when this thread owns the page: the atomic list is the one safe to touch here.
    if (Block* block = TakeBlock(page, p, "free")) FreeRemote(page, block);
  } else if (nested_reserve_.Owns(p)) {
    return;
  } else if (!large_.HeldByCurrentThread()) {
    FreeOutsidePool(p);
  }
  // Otherwise the interrupted call holds the large-block lock: the block is leaked, not risked.
}

void PoolEngine::FreeForeign(void* p) {
  if (nested_reserve_.Owns(p)) return;  // reserve blocks are never reused
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

void* PoolEngine::Reallocate(void* p, size_t size) {
  if (inside_engine) [[unlikely]] {
    if (large_.HeldByCurrentThread()) return nullptr;
    size_t old_size = UsableSize(p);
    void* moved = old_size != 0 ? AllocateNested(size, 0) : nullptr;
    if (moved != nullptr) {
      memcpy(moved, p, old_size < size ? old_size : size);
      FreeNested(p);
    }
    return moved;
  }
  EngineEntry entry;
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
  void* moved = size <= kMaxPooledSize ? Heap::Current()->Allocate(size)
                                        : large_.Allocate(size, 0, false);
  if (moved == nullptr) return nullptr;
  memcpy(moved, p, old_size < size ? old_size : size);
  FreePooled(p);
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
