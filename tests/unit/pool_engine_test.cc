// The pool engine as a library, in one process: the arena and the thread heaps are global, so
// tests check properties of the blocks they allocate, never totals of the whole engine.
#include "engine/pool/pool_engine.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/pool/arena.h"
#include "engine/pool/fast_path.h"
#include "engine/pool/foreign.h"
#include "engine/pool/heap.h"
#include "gtest/gtest.h"

namespace poolscope::engine::pool {
namespace {

PoolEngine& Engine() {
  static PoolEngine* engine = [] {
    PoolEngine* e = &PoolEngine::Instance();
    common::Config config;
    config.engine = common::EngineKind::kPool;
    if (!e->Init(config)) abort();
    return e;
  }();
  return *engine;
}

bool Aligned(const void* p, size_t alignment) {
  return reinterpret_cast<uintptr_t>(p) % alignment == 0;
}

TEST(PoolEngine, BlocksAreDistinctAlignedAndUsable) {
  PoolEngine& e = Engine();
  std::vector<std::pair<char*, size_t>> blocks;
  for (size_t size : {0, 1, 8, 16, 17, 100, 128, 129, 1000, 4096, 8193, 65536, 262144}) {
    for (int i = 0; i < 50; ++i) {
      auto* p = static_cast<char*>(e.Allocate(size));
      ASSERT_NE(p, nullptr);
      EXPECT_TRUE(Aligned(p, 16));
      EXPECT_EQ(arena.Contains(p), size <= kMaxPooledSize) << size;
      EXPECT_GE(e.UsableSize(p), size);
      memset(p, i, size);
      blocks.push_back({p, size});
    }
  }
  std::sort(blocks.begin(), blocks.end());
  for (size_t i = 1; i < blocks.size(); ++i) {
    ASSERT_GE(blocks[i].first, blocks[i - 1].first + std::max<size_t>(blocks[i - 1].second, 1));
  }
  for (auto& [p, size] : blocks) e.Free(p);
}

TEST(PoolEngine, PageDescribesItsBlocks) {
  PoolEngine& e = Engine();
  void* p = e.Allocate(200);
  Page* page = arena.PageOf(p);
  EXPECT_EQ(page->block_size, ClassSize(SizeClassOf(200)));
  EXPECT_EQ(page->heap.load(), fast_thread.heap);
  EXPECT_GE(reinterpret_cast<uintptr_t>(p), page->start);
  EXPECT_LT(reinterpret_cast<uintptr_t>(p), page->start + (size_t{64} << 10));
  EXPECT_EQ((reinterpret_cast<uintptr_t>(p) - page->start) % page->block_size, 0u);
  e.Free(p);
}

// A full page that gets a block back waits behind the pages that got theirs back earlier, so
// the heap takes the page that has gathered the most frees, not the one with a single free
// block: handing out pages newest first made mixed lifetimes switch pages on 19 % of its
// allocations (4 % now), and run 20 % more instructions than mimalloc.
TEST(PoolEngine, PagesGivenBackABlockAreReusedOldestFirst) {
  std::thread([] {
    PoolEngine& e = Engine();
    constexpr size_t kSize = 1792;  // a class no other test uses: no abandoned pages to adopt
    std::vector<std::vector<void*>> pages;  // blocks, by page, in allocation order
    Page* last = nullptr;
    while (pages.size() < 3) {
      void* p = e.Allocate(kSize);
      ASSERT_NE(p, nullptr);
      if (arena.PageOf(p) != last) pages.emplace_back();
      last = arena.PageOf(p);
      pages.back().push_back(p);
    }
    Page* first = arena.PageOf(pages[0][0]);
    Page* second = arena.PageOf(pages[1][0]);
    ASSERT_EQ(first->used(), first->reserved);
    ASSERT_EQ(second->used(), second->reserved);
    e.Free(pages[0][0]);
    e.Free(pages[1][0]);
    // The third page is current: fill it, and the next block comes from the first page.
    void* next;
    while (arena.PageOf(next = e.Allocate(kSize)) == last) pages[2].push_back(next);
    EXPECT_EQ(arena.PageOf(next), first);
    pages[0][0] = next;
    pages[1][0] = e.Allocate(kSize);
    EXPECT_EQ(arena.PageOf(pages[1][0]), second);
    for (auto& blocks : pages) {
      for (void* p : blocks) e.Free(p);
    }
  }).join();
}

// Carved blocks are taken before freed ones, so a medium page that carved several blocks at
// once would have a block regrown and freed in turn written all over the run.
TEST(PoolEngine, MediumBlockFreedAndAllocatedAgainIsTheSameBlock) {
  PoolEngine& e = Engine();
  std::thread([&] {
    void* first = e.Allocate(45000);
    e.Free(first);
    for (int i = 0; i < 20; ++i) {
      void* p = e.Allocate(45000);
      EXPECT_EQ(p, first);
      EXPECT_EQ(arena.PageOf(p)->capacity, 1u);
      e.Free(p);
    }
  }).join();
}

TEST(PoolEngine, EmptiedPageGoesBackToTheArena) {
  PoolEngine& e = Engine();
  // Fill several pages of one class, then free everything: pages other than the one the
  // fast path uses are returned (block_size 0).
  constexpr size_t kSize = 3000;
  std::vector<void*> blocks;
  for (int i = 0; i < 200; ++i) blocks.push_back(e.Allocate(kSize));
  std::set<Page*> pages;
  for (void* p : blocks) pages.insert(arena.PageOf(p));
  ASSERT_GT(pages.size(), 3u);
  for (void* p : blocks) e.Free(p);
  int returned = 0;
  for (Page* page : pages) returned += page->block_size == 0;
  EXPECT_GE(returned, static_cast<int>(pages.size()) - 1);
}

TEST(RemoteFree, BlockFreedByOtherThreadIsReused) {
  PoolEngine& e = Engine();
  constexpr size_t kSize = 48;
  constexpr int kCount = 20000;  // several pages
  std::vector<void*> blocks;
  for (int i = 0; i < kCount; ++i) blocks.push_back(e.Allocate(kSize));
  std::set<void*> freed(blocks.begin(), blocks.end());
  std::thread([&] {
    for (void* p : blocks) e.Free(p);
  }).join();
  // The owner collects the remote frees and hands the same blocks out again.
  int reused = 0;
  std::vector<void*> again;
  for (int i = 0; i < kCount; ++i) {
    void* p = e.Allocate(kSize);
    reused += freed.count(p);
    again.push_back(p);
  }
  EXPECT_GT(reused, kCount * 9 / 10);
  for (void* p : again) e.Free(p);
}

TEST(RemoteFree, ManyThreadsFreeingIntoOnePageLoseNothing) {
  PoolEngine& e = Engine();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 5000;
  std::vector<void*> blocks;
  for (int i = 0; i < kThreads * kPerThread; ++i) blocks.push_back(e.Allocate(32));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kThreads * kPerThread; i += kThreads) e.Free(blocks[i]);
    });
  }
  for (auto& th : threads) th.join();
  std::set<Page*> pages;
  for (void* p : blocks) pages.insert(arena.PageOf(p));
  // Every remote free is accounted: collecting leaves no page with blocks outstanding.
  for (Page* page : pages) {
    if (page->block_size == 0) continue;
    CollectRemoteFrees(page);
    EXPECT_EQ(page->used(), 0u);
  }
}

TEST(Adoption, PagesOfAnExitedThreadAreAdoptedWithTheirLiveBlocks) {
  PoolEngine& e = Engine();
  constexpr size_t kSize = 720;  // a class no other test uses
  std::vector<char*> blocks;
  std::thread([&] {
    for (int i = 0; i < 300; ++i) {
      auto* p = static_cast<char*>(e.Allocate(kSize));
      memset(p, 0x5c, kSize);
      blocks.push_back(p);
    }
  }).join();
  std::set<Page*> orphan_pages;
  for (char* p : blocks) orphan_pages.insert(arena.PageOf(p));
  for (Page* page : orphan_pages) EXPECT_EQ(page->heap.load(), nullptr) << "not abandoned";
  // Half the blocks are freed by a thread that owns none of them.
  for (size_t i = 0; i < blocks.size(); i += 2) e.Free(blocks[i]);
  // Another thread needing this class adopts an abandoned page and reuses its freed blocks.
  bool adopted = false;
  std::thread([&] {
    std::vector<void*> mine;
    for (int i = 0; i < 150; ++i) {
      void* p = e.Allocate(kSize);
      adopted |= orphan_pages.count(arena.PageOf(p)) > 0;
      mine.push_back(p);
    }
    for (void* p : mine) e.Free(p);
  }).join();
  EXPECT_TRUE(adopted);
  for (size_t i = 1; i < blocks.size(); i += 2) {
    ASSERT_EQ(blocks[i][0], 0x5c);  // live blocks survived adoption untouched
    e.Free(blocks[i]);
  }
}

TEST(ThreadExit, DestructorsThatAllocateAfterTheHeapIsGoneStillWork) {
  PoolEngine& e = Engine();
  static pthread_key_t key;
  static PoolEngine* engine = &e;
  static std::atomic<int> rounds;
  rounds.store(0);  // a static, for the captureless destructor: each run starts again
  pthread_key_create(&key, [](void* value) {
    engine->Free(value);
    if (rounds.fetch_add(1) < 3) pthread_setspecific(key, engine->Allocate(64));
  });
  std::thread([&] { pthread_setspecific(key, e.Allocate(64)); }).join();
  EXPECT_EQ(rounds.load(), 4);
  pthread_key_delete(key);
}

TEST(Aligned, EveryPowerOfTwoAlignmentUpTo1GiB) {
  PoolEngine& e = Engine();
  for (size_t alignment = 32; alignment <= (size_t{1} << 30); alignment *= 2) {
    for (size_t size : {size_t{1}, size_t{100}, alignment / 2 + 1, alignment + 8}) {
      auto* p = static_cast<char*>(e.AllocateAligned(alignment, size));
      ASSERT_NE(p, nullptr) << alignment << " " << size;
      EXPECT_TRUE(Aligned(p, alignment)) << alignment << " " << size;
      p[0] = 1;
      p[size - 1] = 2;
      EXPECT_GE(e.UsableSize(p), size);
      e.Free(p);
    }
  }
}

TEST(Large, ReallocGrowsTo1GiBInManyStepsKeepingContents) {
  PoolEngine& e = Engine();
  constexpr size_t kStep = size_t{7} << 20;
  constexpr size_t kTarget = size_t{1} << 30;
  auto* p = static_cast<unsigned char*>(e.Allocate(1000));
  p[0] = 0xa5;
  size_t size = 1000;
  int moves = 0;
  while (size < kTarget) {
    size_t next = std::min(kTarget, size < kStep ? size * 4 : size + kStep);
    auto* q = static_cast<unsigned char*>(e.Reallocate(p, next));
    ASSERT_NE(q, nullptr) << next;
    moves += q != p;
    // Mark one byte per MiB of the new part, so contents are checked without touching 1 GiB.
    for (size_t at = size; at < next; at += size_t{1} << 20) q[at] = static_cast<unsigned char>(at >> 20);
    p = q;
    size = next;
  }
  EXPECT_GE(e.UsableSize(p), kTarget);
  EXPECT_EQ(p[0], 0xa5);
  for (size_t at = size_t{1} << 20; at < kTarget; at += size_t{1} << 20) {
    // Only bytes written at step starts carry marks: check the ones that were written.
    if (p[at] != 0) {
      ASSERT_EQ(p[at], static_cast<unsigned char>(at >> 20)) << at;
    }
  }
  EXPECT_TRUE(Aligned(p, size_t{2} << 20)) << "large blocks stay huge-page aligned";
  e.Free(p);
  EXPECT_EQ(e.UsableSize(p), 0u) << "freed block still registered";
  RecordProperty("moves", moves);
}

TEST(Ownership, InvalidPointersAreReportedAndIgnored) {
  PoolEngine& e = Engine();
  uint64_t before = InvalidPointerCount();
  int on_stack[4];
  e.Free(on_stack);
  char* p = static_cast<char*>(e.Allocate(64));
  e.Free(p + 16);  // interior
  e.Free(p);
  e.Free(p);  // double
  void* mapping = mmap(nullptr, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  e.Free(static_cast<char*>(mapping) + 4096);  // a foreign mapping
  void* large = e.Allocate(1 << 20);
  e.Free(large);
  e.Free(large);  // double free of a large block
  EXPECT_EQ(InvalidPointerCount() - before, 5u);
  munmap(mapping, 1 << 16);
  // The engine is intact: alloc/free pairs keep working.
  for (int i = 0; i < 1000000; ++i) {
    void* q = e.Allocate(static_cast<size_t>(i % 700));
    ASSERT_NE(q, nullptr);
    e.Free(q);
  }
  EXPECT_EQ(InvalidPointerCount() - before, 5u);
}

TEST(Ownership, GlibcBlocksGoBackToGlibc) {
  PoolEngine& e = Engine();
  uint64_t before = InvalidPointerCount();
  // This test binary is not preloaded: plain malloc is glibc's.
  for (size_t size : {24, 1000, 200000, 5000000}) {
    void* p = malloc(size);
    EXPECT_GE(e.UsableSize(p), size);
    void* q = e.Reallocate(p, size * 2);  // stays glibc's
    ASSERT_NE(q, nullptr);
    e.Free(q);
  }
  EXPECT_EQ(InvalidPointerCount(), before);
}

// The way malloc and free reach the engine: the inline fast path, else the generic one.
void* AllocateAsMallocDoes(size_t size) {
  void* p = TryAllocate(size);
  return p != nullptr ? p : Engine().Allocate(size);
}
void FreeAsFreeDoes(void* p) {
  if (!TryFree(p)) Engine().Free(p);
}

// The free fast path looks a block up by its 64 KiB slice: blocks of medium pages beyond their
// first slice take its out-of-line path, and must be freed as well as any other.
TEST(FastPath, FreesBlocksOfEveryPageKindAndSlice) {
  Engine().EnableFastPath(true);
  uint64_t before = InvalidPointerCount();
  for (size_t size : {16, 1000, 1024, 1025, 8192, 8193, 30000, 65536}) {
    std::vector<void*> blocks;
    for (int i = 0; i < 40; ++i) blocks.push_back(AllocateAsMallocDoes(size));
    for (void* p : blocks) FreeAsFreeDoes(p);
    for (void* p : blocks) EXPECT_EQ(arena.PageOf(p)->used(), 0u) << size;
  }
  EXPECT_EQ(InvalidPointerCount(), before);
}

// The sampling countdown is charged for the blocks the fast path serves, and sends the call
// whose charge runs it out to the generic path: which makes the charge (sampling), or parks the
// countdown where no program reaches it (not sampling, as here: nothing is recorded).
TEST(FastPath, SampleCountdownRunningOutSendsTheCallToTheGenericPath) {
  Engine().EnableFastPath(true);
  FreeAsFreeDoes(AllocateAsMallocDoes(64));  // this thread has its heap
  fast_thread.sample_countdown = 100;
  void* p = TryAllocate(64);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(fast_thread.sample_countdown, 36);
  EXPECT_EQ(TryAllocate(64), nullptr);
  EXPECT_EQ(fast_thread.sample_countdown, kNeverSample);
  void* q = TryAllocate(64);
  EXPECT_NE(q, nullptr);
  FreeAsFreeDoes(p);
  FreeAsFreeDoes(q);
  // A miss for want of a free block gives the charge back: the generic path makes it.
  std::thread([] {
    fast_thread.sample_countdown = 1000;
    EXPECT_EQ(TryAllocate(64), nullptr);  // a new thread has no heap yet
    EXPECT_EQ(fast_thread.sample_countdown, 1000);
  }).join();
}

// Sampled blocks leave the arena, so that their frees miss the fast path and get recorded:
// the new block keeps what the block was asked to be.
TEST(Sampling, MovedBlocksLeaveTheArenaKeepingContentsAndAlignment) {
  PoolEngine& e = Engine();
  uint64_t before = InvalidPointerCount();
  for (size_t alignment : {0, 64, 4096, 65536}) {
    for (size_t size : {1, 24, 1000, 5000, 70000, 300000}) {
      auto* p = static_cast<unsigned char*>(alignment == 0 ? e.Allocate(size)
                                                            : e.AllocateAligned(alignment, size));
      ASSERT_NE(p, nullptr);
      for (size_t i = 0; i < size; ++i) p[i] = static_cast<unsigned char>(i * 13 + size);
      bool pooled = arena.Contains(p);
      auto* q = static_cast<unsigned char*>(e.MoveSampledBlock(p, size, alignment, true));
      ASSERT_NE(q, nullptr);
      EXPECT_FALSE(arena.Contains(q)) << size;
      if (!pooled) {
        EXPECT_EQ(q, p) << "a large block stays where it is";
      }
      EXPECT_EQ(reinterpret_cast<uintptr_t>(q) % std::max<size_t>(alignment, 16), 0u)
          << size << " aligned to " << alignment;
      EXPECT_GE(e.UsableSize(q), size);
      for (size_t i = 0; i < size; ++i) {
        ASSERT_EQ(q[i], static_cast<unsigned char>(i * 13 + size)) << size << " at " << i;
      }
      e.FreeSampledBlock(q);
      // A fresh malloc's contents need no copy, only the alignment.
      void* r = e.MoveSampledBlock(e.AllocateAligned(std::max<size_t>(alignment, 16), size), size,
                                   alignment, false);
      ASSERT_NE(r, nullptr);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(r) % std::max<size_t>(alignment, 16), 0u);
      e.FreeSampledBlock(r);
    }
  }
  EXPECT_EQ(InvalidPointerCount(), before);
}

// A signal handler that samples on a thread interrupted inside the engine (perhaps inside
// glibc's allocator, freeing a sampled block) must not call glibc's allocator: no move.
TEST(Sampling, NoMoveForACallNestedInTheEngine) {
  PoolEngine& e = Engine();
  void* p = e.Allocate(64);
  ASSERT_TRUE(arena.Contains(p));
  {
    EngineEntry interrupted;  // what the handler's call finds
    EXPECT_EQ(e.MoveSampledBlock(p, 64, 0, false), nullptr);
  }
  EXPECT_EQ(e.UsableSize(p), ClassSize(SizeClassOf(64))) << "left as it was";
  e.Free(p);
}

constexpr size_t kSignalTestSize = 48;
std::atomic<int> handler_runs{0};
std::atomic<int> handler_errors{0};

void AllocateInHandler(int) {
  int saved_errno = errno;
  for (int i = 0; i < 4; ++i) {
    auto* p = static_cast<unsigned char*>(AllocateAsMallocDoes(kSignalTestSize));
    if (p == nullptr) continue;
    memset(p, 0xee, kSignalTestSize);
    for (size_t k = 0; k < kSignalTestSize; ++k) handler_errors += p[k] != 0xee;
    FreeAsFreeDoes(p);
  }
  handler_runs++;
  errno = saved_errno;
}

// Unlike glibc, the pool engine lets a signal handler allocate from the very size class the
// interrupted call is working on (EngineEntry): no block may be handed out twice.
TEST(Signals, HandlerAllocatingTheInterruptedSizeClassGetsItsOwnBlocks) {
  Engine().EnableFastPath(true);
  free(malloc(1));  // glibc's own set-up, outside the handler
  struct sigaction action = {};
  action.sa_handler = AllocateInHandler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  struct sigaction old_action;
  ASSERT_EQ(sigaction(SIGALRM, &action, &old_action), 0);
  struct itimerval every = {{0, 50}, {0, 50}};
  ASSERT_EQ(setitimer(ITIMER_REAL, &every, nullptr), 0);

  std::vector<unsigned char*> window(64, nullptr);
  std::vector<unsigned char> contents(window.size());
  long corrupted = 0;
  for (int i = 0; i < 3000000 || handler_runs.load() < 200; ++i) {
    size_t n = static_cast<size_t>(i) % window.size();
    if (window[n] != nullptr) {
      for (size_t k = 0; k < kSignalTestSize; ++k) corrupted += window[n][k] != contents[n];
      FreeAsFreeDoes(window[n]);
    }
    window[n] = static_cast<unsigned char*>(AllocateAsMallocDoes(kSignalTestSize));
    ASSERT_NE(window[n], nullptr);
    contents[n] = static_cast<unsigned char>(i & 0x7f);
    memset(window[n], contents[n], kSignalTestSize);
  }

  struct itimerval off = {};
  setitimer(ITIMER_REAL, &off, nullptr);
  sigaction(SIGALRM, &old_action, nullptr);
  for (unsigned char* p : window) FreeAsFreeDoes(p);
  EXPECT_EQ(corrupted, 0);
  EXPECT_EQ(handler_errors.load(), 0);
  RecordProperty("handler_runs", handler_runs.load());
}

TEST(Fork, ChildAllocatesWhileAnotherThreadWasAllocating) {
  PoolEngine& e = Engine();
  std::atomic<bool> stop{false};
  std::thread busy([&] {
    while (!stop.load()) {
      void* p = e.Allocate(96);
      e.Free(p);
    }
  });
  for (int i = 0; i < 50; ++i) {
    e.ForkPrepare();
    pid_t pid = fork();
    if (pid == 0) {
      e.ForkChild();
      bool ok = true;
      for (int j = 0; j < 10000 && ok; ++j) {
        void* p = e.Allocate(static_cast<size_t>(j % 5000));
        ok = p != nullptr;
        e.Free(p);
      }
      _exit(ok ? 0 : 1);
    }
    e.ForkParent();
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  stop = true;
  busy.join();
}

}  // namespace
}  // namespace poolscope::engine::pool
