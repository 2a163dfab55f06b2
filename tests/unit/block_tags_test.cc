// The block tag table's arithmetic, on an arena of its own (not the engine's).
#include "engine/pool/block_tags.h"

#include <cstdint>
#include <vector>

#include "fresh_arena.h"
#include "gtest/gtest.h"

namespace poolscope::engine::pool {
namespace {

Heap* const kOwner = reinterpret_cast<Heap*>(0x1000);
constexpr size_t kArenaBytes = size_t{64} << 20;  // the smallest the arena takes

void* BlockOf(const Page* page, size_t k) {
  return reinterpret_cast<void*>(page->start + k * page->block_size);
}

// Each page's words, as [first, last], from its first and last block.
struct Words {
  uint64_t* first;
  uint64_t* last;
};

Words CarveAllAndFindWords(BlockTags& tags, Page* page) {
  page->set_capacity(page->reserved);
  return {tags.SlotOf(BlockOf(page, 0)), tags.SlotOf(BlockOf(page, page->reserved - 1))};
}

TEST(BlockTags, EveryBlockOfEveryClassHasAWordOfItsOwn) {
  Arena& a = FreshArena();
  ASSERT_TRUE(a.Init(kArenaBytes, common::HugePages::kThp, 1000));
  BlockTags tags;
  ASSERT_TRUE(tags.Reserve(&a));
  std::vector<Words> pages;
  for (int size_class = 0; size_class < kClassCount; ++size_class) {
    Page* page = a.AllocatePage(size_class, kOwner);
    ASSERT_NE(page, nullptr);
    Words words = CarveAllAndFindWords(tags, page);
    ASSERT_NE(words.first, nullptr) << size_class;
    // Consecutive words, so distinct blocks never share one; the same block always finds its own.
    for (size_t k = 0; k < page->reserved; ++k) {
      uint64_t* word = tags.SlotOf(BlockOf(page, k));
      ASSERT_EQ(word, words.first + k) << "class " << size_class << " block " << k;
      *word = k + 1;  // inside the table, or this faults
      EXPECT_EQ(tags.SlotOf(BlockOf(page, k)), word);
    }
    for (const Words& other : pages) {
      EXPECT_TRUE(words.last < other.first || other.last < words.first) << "class " << size_class;
    }
    pages.push_back(words);
  }
}

TEST(BlockTags, PagesAtTheEndOfTheArenaHaveTheirWordsInsideTheTable) {
  Arena& a = FreshArena();
  ASSERT_TRUE(a.Init(kArenaBytes, common::HugePages::kThp, 1000));
  BlockTags tags;
  ASSERT_TRUE(tags.Reserve(&a));
  // The smallest blocks use their pages' whole share of the table; the largest medium ones
  // only its start. Half the arena each, so both reach the last segments.
  for (int size_class : {SizeClassOf(16), SizeClassOf(kMaxPooledSize)}) {
    size_t pages = kArenaBytes / 2 / (size_t{1} << PageShift(PageKindOf(size_class)));
    for (size_t i = 0; i < pages; ++i) {
      Page* page = a.AllocatePage(size_class, kOwner);
      ASSERT_NE(page, nullptr) << i;
      Words words = CarveAllAndFindWords(tags, page);
      ASSERT_NE(words.last, nullptr);
      *words.first = 1;
      *words.last = 1;  // faults beyond the table's mapping
    }
  }
  EXPECT_EQ(a.AllocatePage(SizeClassOf(16), kOwner), nullptr) << "the arena is full";
}

TEST(BlockTags, PointersThatAreNotCarvedBlockStartsHaveNoWord) {
  Arena& a = FreshArena();
  ASSERT_TRUE(a.Init(kArenaBytes, common::HugePages::kThp, 1000));
  BlockTags tags;
  ASSERT_TRUE(tags.Reserve(&a));
  int on_stack = 0;
  EXPECT_EQ(tags.SlotOf(&on_stack), nullptr);
  EXPECT_EQ(tags.SlotOf(nullptr), nullptr);
  EXPECT_EQ(tags.SlotOf(reinterpret_cast<void*>(a.base() - 16)), nullptr);
  EXPECT_EQ(tags.SlotOf(reinterpret_cast<void*>(a.base() + a.size())), nullptr);
  EXPECT_EQ(tags.SlotOf(reinterpret_cast<void*>(a.base())), nullptr) << "no page there yet";

  Page* small = a.AllocatePage(SizeClassOf(48), kOwner);
  small->set_capacity(4);
  EXPECT_NE(tags.SlotOf(BlockOf(small, 3)), nullptr);
  EXPECT_EQ(tags.SlotOf(BlockOf(small, 4)), nullptr) << "not carved yet";
  for (size_t inside : {1, 8, 16, 47}) {
    EXPECT_EQ(tags.SlotOf(static_cast<char*>(BlockOf(small, 1)) + inside), nullptr) << inside;
  }
  Page* medium = a.AllocatePage(SizeClassOf(40000), kOwner);
  medium->set_capacity(medium->reserved);
  EXPECT_NE(tags.SlotOf(BlockOf(medium, 3)), nullptr) << "in a later slice of its page";
  EXPECT_EQ(tags.SlotOf(static_cast<char*>(BlockOf(medium, 3)) + (size_t{64} << 10)), nullptr);

  void* freed = BlockOf(small, 0);
  a.FreePage(small);
  EXPECT_EQ(tags.SlotOf(freed), nullptr) << "page released";
}

}  // namespace
}  // namespace poolscope::engine::pool
