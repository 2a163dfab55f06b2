#include "live_blocks.h"

#include <random>
#include <unordered_map>
#include <vector>

#include "gtest/gtest.h"

namespace poolscope::analysis {
namespace {

namespace tf = trace_format;

// Against a reference map, through the cases the windows treat apart: churn in allocation
// order, long-lived blocks that force eviction, bursts that force growth, several threads,
// addresses, and keys out of order.
TEST(LiveBlocks, AgreesWithAReferenceMap) {
  LiveBlocks<uint64_t> blocks;
  std::unordered_map<uint64_t, uint64_t> want;
  std::vector<uint64_t> live;
  std::mt19937_64 rng(11);
  uint64_t next_seq[3] = {0, 0, 0};
  for (int step = 0; step < 400000; ++step) {
    bool allocate = live.empty() || rng() % 100 < (step % 50000 < 25000 ? 55 : 45);
    if (allocate) {
      uint64_t key;
      uint64_t kind = rng() % 100;
      if (kind < 2) {
        key = (rng() % 100000) * 16 + 16;  // an address
      } else if (kind < 3) {
        uint32_t t = static_cast<uint32_t>(rng() % 3);
        key = tf::BlockKey(t + 1, next_seq[t] > 500 ? next_seq[t] - 500 : 0);  // out of order
      } else {
        uint32_t t = static_cast<uint32_t>(rng() % 3);
        key = tf::BlockKey(t + 1, next_seq[t]++);
      }
      uint64_t value = rng();
      auto [slot, inserted] = blocks.TryEmplace(key, value);
      auto [it, want_inserted] = want.try_emplace(key, value);
      ASSERT_EQ(inserted, want_inserted) << "step " << step;
      ASSERT_EQ(*slot, it->second) << "step " << step;
      if (inserted) live.push_back(key);
    } else {
      // Mostly the oldest blocks (FIFO churn), sometimes any, so some live very long.
      size_t at = rng() % 4 == 0 ? rng() % live.size() : rng() % std::min<size_t>(live.size(), 8);
      uint64_t key = live[at];
      live[at] = live.back();
      live.pop_back();
      uint64_t* found = blocks.Find(key);
      ASSERT_NE(found, nullptr) << "step " << step;
      ASSERT_EQ(*found, want.at(key));
      blocks.Erase(key);
      want.erase(key);
      ASSERT_EQ(blocks.Find(key), nullptr);
    }
    ASSERT_EQ(blocks.size(), want.size());
  }
  uint64_t sum = 0, want_sum = 0;
  size_t count = 0;
  blocks.ForEach([&](uint64_t v) {
    sum += v;
    ++count;
  });
  for (const auto& [key, value] : want) want_sum += value;
  EXPECT_EQ(count, want.size());
  EXPECT_EQ(sum, want_sum);
}

TEST(LiveBlocks, FindsALongLivedBlockAfterLongChurn) {
  LiveBlocks<int> blocks;
  blocks.TryEmplace(tf::BlockKey(1, 0), 7);
  for (uint64_t n = 1; n < 1000000; ++n) {
    blocks.TryEmplace(tf::BlockKey(1, n), 1);
    blocks.Erase(tf::BlockKey(1, n));
  }
  ASSERT_NE(blocks.Find(tf::BlockKey(1, 0)), nullptr);
  EXPECT_EQ(*blocks.Find(tf::BlockKey(1, 0)), 7);
  EXPECT_EQ(blocks.size(), 1u);
}

}  // namespace
}  // namespace poolscope::analysis
