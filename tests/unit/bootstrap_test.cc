#include "interpose/bootstrap.h"

#include <cstdint>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace poolscope::interpose::bootstrap {
namespace {

// The arena is process-wide and never reused, so each test only checks blocks it allocated.

TEST(Bootstrap, BlocksAreAlignedZeroedOwnedAndRememberTheirSize) {
  for (size_t size : {0, 1, 15, 16, 17, 100, 4096}) {
    auto* p = static_cast<unsigned char*>(Allocate(size));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kMinAlignment, 0u);
    EXPECT_TRUE(Owns(p));
    EXPECT_EQ(SizeOf(p), size);
    for (size_t i = 0; i < size; ++i) ASSERT_EQ(p[i], 0) << i;
    memset(p, 0xab, size);
  }
}

TEST(Bootstrap, HonoursAlignmentsUpToAPage) {
  for (size_t alignment = 32; alignment <= kMaxAlignment; alignment *= 2) {
    void* p = Allocate(24, alignment);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % alignment, 0u) << alignment;
    EXPECT_EQ(SizeOf(p), 24u);
  }
  EXPECT_EQ(Allocate(24, kMaxAlignment * 2), nullptr);
}

TEST(Bootstrap, DoesNotOwnOtherMemory) {
  int on_stack;
  std::vector<int> on_heap(4);
  EXPECT_FALSE(Owns(&on_stack));
  EXPECT_FALSE(Owns(on_heap.data()));
  EXPECT_FALSE(Owns(nullptr));
  EXPECT_FALSE(Owns(arena_memory + kArenaBytes));
  EXPECT_TRUE(Owns(arena_memory));
}

TEST(Bootstrap, RefusesRequestsLargerThanTheArena) {
  size_t before = BytesUsed();
  EXPECT_EQ(Allocate(kArenaBytes + 1), nullptr);
  EXPECT_EQ(Allocate(SIZE_MAX), nullptr);
  EXPECT_EQ(BytesUsed(), before);
}

TEST(Bootstrap, ConcurrentAllocationsNeverOverlap) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::vector<std::vector<std::pair<uintptr_t, size_t>>> blocks(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        size_t size = 8 + (i * 7 + t) % 120;
        void* p = Allocate(size);
        ASSERT_NE(p, nullptr);
        blocks[t].push_back({reinterpret_cast<uintptr_t>(p), size});
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<std::pair<uintptr_t, size_t>> all;
  for (auto& b : blocks) all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  for (size_t i = 1; i < all.size(); ++i) {
    ASSERT_GE(all[i].first, all[i - 1].first + all[i - 1].second) << "blocks overlap";
  }
}

// In a child process, so the other tests keep an arena with room in it.
TEST(BootstrapDeathTest, ExhaustedArenaReturnsNullWithoutOverrunning) {
  EXPECT_EXIT(
      {
        while (Allocate(1 << 16) != nullptr) {
        }
        bool ok = Allocate(1 << 16) == nullptr && BytesUsed() <= kArenaBytes;
        _exit(ok ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace poolscope::interpose::bootstrap
