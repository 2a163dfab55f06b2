#include "engine/pool/size_class.h"

#include "gtest/gtest.h"

namespace poolscope::engine::pool {
namespace {

TEST(SizeClass, EveryRequestFitsItsClass) {
  for (size_t size = 0; size <= kMaxPooledSize; ++size) {
    int c = SizeClassOf(size);
    ASSERT_GE(c, 0);
    ASSERT_LT(c, kClassCount);
    ASSERT_GE(ClassSize(c), size) << size;
    if (c > 0) {
      ASSERT_LT(ClassSize(c - 1), size < 16 ? 16 : size) << "not the smallest class";
    }
  }
}

TEST(SizeClass, WasteAbove128BytesIsUnderAnEighth) {
  for (size_t size = 129; size <= kMaxPooledSize; ++size) {
    size_t waste = ClassSize(SizeClassOf(size)) - size;
    ASSERT_LT(waste * 8, size) << size;
  }
}

TEST(SizeClass, ClassesAreIncreasingMultiplesOf16) {
  for (int c = 0; c < kClassCount; ++c) {
    EXPECT_EQ(ClassSize(c) % kMinBlockSize, 0u) << c;
    EXPECT_EQ(SizeClassOf(ClassSize(c)), c);
    if (c > 0) {
      EXPECT_GT(ClassSize(c), ClassSize(c - 1));
    }
  }
}

TEST(SizeClass, EveryPowerOfTwoIsAClass) {
  // Aligned allocation relies on power-of-two classes being aligned to their size.
  for (size_t p = kMinBlockSize; p <= kMaxPooledSize; p *= 2) {
    EXPECT_EQ(ClassSize(SizeClassOf(p)), p);
  }
}

TEST(SizeClass, PagesHoldAtLeastEightBlocks) {
  for (int c = 0; c < kClassCount; ++c) {
    size_t page_bytes = PageKindOf(c) == PageKind::kSmall ? size_t{64} << 10 : size_t{512} << 10;
    EXPECT_GE(page_bytes / ClassSize(c), 8u) << c;
  }
}

}  // namespace
}  // namespace poolscope::engine::pool
