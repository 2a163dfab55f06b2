#include "trace/stack_cache.h"

#include <cstdint>
#include <memory>

#include "gtest/gtest.h"

namespace poolscope::trace {
namespace {

// A fake thread stack: words[0] is the recorder's frame (the key), return addresses above.
class StackCacheTest : public ::testing::Test {
 protected:
  static constexpr int kWords = 64;
  void SetUp() override {
    cache_ = std::make_unique<StackCache>();
    cache_->Reset(Address(0), Address(kWords));
    for (int i = 0; i < kWords; ++i) words_[i] = 0x1000 + i;  // locals: never return addresses
    words_[5] = 0x401111;   // the caller of malloc
    words_[12] = 0x402222;  // its caller
    words_[30] = 0x403333;  // main
  }
  uintptr_t Address(int word) { return reinterpret_cast<uintptr_t>(&words_[word]); }

  const uintptr_t frames_[3] = {0x401111, 0x402222, 0x403333};
  uintptr_t words_[kWords];
  std::unique_ptr<StackCache> cache_;
};

TEST_F(StackCacheTest, HitsWhileEveryReturnAddressIsInPlace) {
  EXPECT_EQ(cache_->Find(Address(0), 1), 0u);
  cache_->Remember(Address(0), frames_, 3, 77, 1);
  EXPECT_EQ(cache_->Find(Address(0), 1), 77u);
  words_[20] = 0xdead;  // a local between frames changes: still the same calls
  EXPECT_EQ(cache_->Find(Address(0), 1), 77u);
}

TEST_F(StackCacheTest, MissesWhenAnOuterCallChanged) {
  cache_->Remember(Address(0), frames_, 3, 77, 1);
  words_[12] = 0x409999;  // the same function called from elsewhere
  EXPECT_EQ(cache_->Find(Address(0), 1), 0u);
}

TEST_F(StackCacheTest, MissesAtAnotherStackPointerOrGeneration) {
  cache_->Remember(Address(0), frames_, 3, 77, 1);
  EXPECT_EQ(cache_->Find(Address(1), 1), 0u);
  EXPECT_EQ(cache_->Find(Address(0), 2), 0u);  // a fork child emptied the stack table
}

TEST_F(StackCacheTest, KeepsSeveralCallSitesAtTheSameStackPointer) {
  cache_->Remember(Address(0), frames_, 3, 77, 1);
  words_[5] = 0x401155;  // a second call site in the same caller
  const uintptr_t other[3] = {0x401155, 0x402222, 0x403333};
  cache_->Remember(Address(0), other, 3, 78, 1);
  EXPECT_EQ(cache_->Find(Address(0), 1), 78u);
  words_[5] = 0x401111;
  EXPECT_EQ(cache_->Find(Address(0), 1), 77u);
}

TEST_F(StackCacheTest, NeverKeepsAStackWhoseFramesAreNotAllOnTheStack) {
  const uintptr_t missing[3] = {0x401111, 0x40ffff, 0x403333};
  cache_->Remember(Address(0), missing, 3, 77, 1);
  EXPECT_EQ(cache_->Find(Address(0), 1), 0u);
  // Frames found out of order are not the stack either.
  const uintptr_t reversed[3] = {0x403333, 0x402222, 0x401111};
  cache_->Remember(Address(0), reversed, 3, 77, 1);
  EXPECT_EQ(cache_->Find(Address(0), 1), 0u);
}

TEST_F(StackCacheTest, IgnoresStackPointersOutsideTheThreadsStack) {
  uintptr_t elsewhere[kWords];
  for (int i = 0; i < kWords; ++i) elsewhere[i] = words_[i];
  auto sp = reinterpret_cast<uintptr_t>(&elsewhere[0]);
  cache_->Remember(sp, frames_, 3, 77, 1);  // e.g. a coroutine's own stack
  EXPECT_EQ(cache_->Find(sp, 1), 0u);
}

}  // namespace
}  // namespace poolscope::trace
