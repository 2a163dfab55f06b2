// The arena's segment bookkeeping and decay, on an arena of its own (not the engine's).
#include "engine/pool/arena.h"
#include "fresh_arena.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "engine/pool/heap.h"
#include "gtest/gtest.h"

namespace poolscope::engine::pool {
namespace {

// Resident bytes of [p, p + size), from mincore.
size_t ResidentBytes(void* p, size_t size) {
  std::vector<unsigned char> pages(size / 4096);
  if (mincore(p, size, pages.data()) != 0) return 0;
  size_t n = 0;
  for (unsigned char v : pages) n += v & 1;
  return n * 4096;
}

Heap* const kOwner = reinterpret_cast<Heap*>(0x1000);

TEST(Arena, PagesOfOneKindShareSegmentsAndNeverOverlap) {
  Arena& a = FreshArena();
  ASSERT_TRUE(a.Init(size_t{256} << 20, common::HugePages::kThp, 1000));
  std::vector<Page*> pages;
  for (int i = 0; i < 40; ++i) pages.push_back(a.AllocatePage(SizeClassOf(64), kOwner));
  for (size_t i = 0; i < pages.size(); ++i) {
    ASSERT_NE(pages[i], nullptr);
    EXPECT_EQ(pages[i]->start % (size_t{64} << 10), 0u);
    EXPECT_TRUE(a.Contains(reinterpret_cast<void*>(pages[i]->start)));
    EXPECT_EQ(a.PageOf(reinterpret_cast<void*>(pages[i]->start + 100)), pages[i]);
    for (size_t j = 0; j < i; ++j) EXPECT_NE(pages[i]->start, pages[j]->start);
  }
  // 40 small pages fill one segment (32) and start a second.
  EXPECT_EQ(a.Stats().active_segments, 2u);
  for (Page* p : pages) a.FreePage(p);
  EXPECT_EQ(a.Stats().active_segments, 0u);
  EXPECT_EQ(a.Stats().empty_segments, 2u);
}

TEST(Arena, MediumPagesAreFourToASegmentAndAligned) {
  Arena& a = FreshArena();
  ASSERT_TRUE(a.Init(size_t{128} << 20, common::HugePages::kThp, 1000));
  std::vector<Page*> pages;
  for (int i = 0; i < 4; ++i) pages.push_back(a.AllocatePage(SizeClassOf(60000), kOwner));
  for (Page* p : pages) {
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->start % (size_t{512} << 10), 0u);
    EXPECT_EQ(p->reserved, (size_t{512} << 10) / ClassSize(SizeClassOf(60000)));
    EXPECT_EQ(p->start / kSegmentSize, pages[0]->start / kSegmentSize) << "one segment";
  }
  EXPECT_EQ(a.Stats().active_segments, 1u);
  for (Page* p : pages) a.FreePage(p);
}

TEST(Arena, EmptySegmentsArePurgedWholeAfterTheDecayTime) {
  Arena& a = FreshArena();
  constexpr uint32_t kDecayMs = 100;
  ASSERT_TRUE(a.Init(size_t{256} << 20, common::HugePages::kThp, kDecayMs));
  Page* keep = a.AllocatePage(SizeClassOf(16), kOwner);  // keeps its segment in use
  memset(reinterpret_cast<void*>(keep->start), 1, size_t{64} << 10);
  std::vector<Page*> pages;  // 8 whole segments of medium pages
  for (int i = 0; i < 32; ++i) pages.push_back(a.AllocatePage(SizeClassOf(60000), kOwner));
  for (Page* p : pages) memset(reinterpret_cast<void*>(p->start), 1, size_t{512} << 10);
  std::vector<uintptr_t> starts;
  for (Page* p : pages) {
    if (p->start % kSegmentSize == 0) starts.push_back(p->start);
  }
  ASSERT_EQ(starts.size(), 8u);
  for (Page* p : pages) a.FreePage(p);
  // Within the decay time the most recently emptied segments are kept, as many as the cap for
  // a heap this small allows (kMinEmptyBytes): they are what the next pages will use.
  size_t kept = kMinEmptyBytes / kSegmentSize;
  EXPECT_EQ(a.Stats().empty_segments, kept);
  EXPECT_EQ(a.Stats().purged_segments, 8u - kept);
  EXPECT_EQ(ResidentBytes(reinterpret_cast<void*>(starts[7]), kSegmentSize), kSegmentSize);
  EXPECT_EQ(ResidentBytes(reinterpret_cast<void*>(starts[0]), kSegmentSize), 0u);
  usleep((kDecayMs + 50) * 1000);
  // The next arena operation purges what has expired.
  a.FreePage(a.AllocatePage(SizeClassOf(16), kOwner));
  ArenaStats stats = a.Stats();
  EXPECT_EQ(stats.purged_segments, 8u);
  size_t resident = 0;
  for (uintptr_t s : starts) resident += ResidentBytes(reinterpret_cast<void*>(s), kSegmentSize);
  EXPECT_LE(resident, kSegmentSize);
  // The segment still in use kept its memory.
  EXPECT_EQ(ResidentBytes(reinterpret_cast<void*>(keep->start), size_t{64} << 10),
            size_t{64} << 10);
  a.FreePage(keep);
}

TEST(Arena, TooManyEmptySegmentsArePurgedAtOnce) {
  Arena& a = FreshArena();
  ASSERT_TRUE(a.Init(size_t{512} << 20, common::HugePages::kThp, 3600 * 1000));
  std::vector<Page*> pages;
  constexpr int kSegments = 64;  // 128 MiB, four times the empty-segment cap
  for (int i = 0; i < 4 * kSegments; ++i) {
    pages.push_back(a.AllocatePage(SizeClassOf(60000), kOwner));
  }
  for (Page* p : pages) a.FreePage(p);
  ArenaStats stats = a.Stats();
  EXPECT_LE(stats.empty_segments * kSegmentSize, kMaxEmptyBytes);
  EXPECT_EQ(stats.empty_segments + stats.purged_segments, static_cast<size_t>(kSegments));
}

TEST(Arena, ReservationShrinksWhenAddressSpaceIsRefused) {
  Arena& a = FreshArena();
  // More than the whole 47-bit user address space: must fall back by halving.
  ASSERT_TRUE(a.Init(size_t{1} << 48, common::HugePages::kOff, 1000));
  EXPECT_LT(a.size(), size_t{1} << 47);
  EXPECT_GE(a.size(), size_t{64} << 20);
}

}  // namespace
}  // namespace poolscope::engine::pool
