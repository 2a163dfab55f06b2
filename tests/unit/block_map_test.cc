#include "trace/block_map.h"

#include <memory>
#include <random>
#include <unordered_map>

#include "gtest/gtest.h"

namespace poolscope::trace {
namespace {

TEST(BlockMap, TakesWhatWasInsertedOnce) {
  auto map = std::make_unique<BlockMap>();
  map->Init(100);
  EXPECT_EQ(map->Take(0x1000), 0u);
  ASSERT_TRUE(map->Insert(0x1000, 7));
  ASSERT_TRUE(map->Insert(0x1000, 8));  // the same address again: replaced, not added
  EXPECT_EQ(map->size(), 1u);
  EXPECT_EQ(map->Take(0x1000), 8u);
  EXPECT_EQ(map->Take(0x1000), 0u);
  EXPECT_EQ(map->size(), 0u);
}

TEST(BlockMap, RefusesBlocksPastItsCap) {
  auto map = std::make_unique<BlockMap>();
  map->Init(128);  // two per shard
  uintptr_t refused = 0;
  uintptr_t a = 16;
  for (; refused == 0; a += 16) {
    if (!map->Insert(a, a)) refused = a;
  }
  // Some shard ran out first: no more than the total, and at least its share.
  size_t held = map->size();
  EXPECT_LE(held, 128u);
  EXPECT_GE(held, 2u);
  EXPECT_TRUE(map->Insert(16, 9));  // replacing needs no room
  for (uintptr_t b = 16; b < refused; b += 16) map->Take(b);
  EXPECT_EQ(map->size(), 0u);
  EXPECT_TRUE(map->Insert(refused, 4));
}

// Against a reference map, through growth and deletions that shift probe runs back.
TEST(BlockMap, AgreesWithAReferenceUnderRandomChurn) {
  auto map = std::make_unique<BlockMap>();
  map->Init(size_t{1} << 20);
  std::unordered_map<uintptr_t, uint64_t> want;
  std::mt19937_64 rng(5);
  std::vector<uintptr_t> live;
  for (uint64_t i = 1; i <= 400000; ++i) {
    if (live.empty() || rng() % 5 < 3) {
      // Addresses crowded together, as an allocator hands them out.
      uintptr_t a = 0x7f0000000000 + (rng() % 200000) * 16;
      ASSERT_TRUE(map->Insert(a, i));
      if (want.insert_or_assign(a, i).second) live.push_back(a);
    } else {
      size_t at = rng() % live.size();
      uintptr_t a = live[at];
      live[at] = live.back();
      live.pop_back();
      ASSERT_EQ(map->Take(a), want[a]) << i;
      want.erase(a);
    }
  }
  EXPECT_EQ(map->size(), want.size());
  for (const auto& [a, key] : want) ASSERT_EQ(map->Take(a), key);
  EXPECT_EQ(map->size(), 0u);
}

}  // namespace
}  // namespace poolscope::trace
