// Size classes of the pool engine.
//
// Sixteen-byte steps up to 128 bytes, then eight classes per power of two, so a request above
// 128 bytes wastes less than 12.5 % of itself (the step is an eighth of the class's lower
// power of two). Every class is a multiple of 16, and a power-of-two class is also aligned to
// its size inside a page, which aligned allocation relies on. Requests above kMaxPooledSize
// are large blocks with mappings of their own.
#ifndef POOLSCOPE_SRC_ENGINE_POOL_SIZE_CLASS_H_
#define POOLSCOPE_SRC_ENGINE_POOL_SIZE_CLASS_H_

#include <cstddef>
#include <cstdint>

namespace poolscope::engine::pool {

inline constexpr size_t kMinBlockSize = 16;
// Above 64 KiB a page would hold few blocks, and a size class used once would keep a whole
// (huge) page resident: such blocks are large blocks instead.
inline constexpr size_t kMaxPooledSize = size_t{64} << 10;
inline constexpr int kClassCount = 80;

constexpr int SizeClassOf(size_t size) {
  if (size <= 128) return size <= 16 ? 0 : static_cast<int>((size - 1) >> 4);
  // 2^k < size <= 2^(k+1); the class is the eighth of that doubling the size falls in.
  int k = 63 - __builtin_clzll(size - 1);
  return (k - 6) * 8 + static_cast<int>(((size - 1) >> (k - 3)) & 7);
}

// Classes of sizes up to kMaxSmallSize by table, in 16-byte steps: one load on the fast path.
inline constexpr size_t kMaxSmallSize = 1024;
struct SmallClassTable {
  uint8_t of[kMaxSmallSize / 16 + 1];
  constexpr SmallClassTable() : of() {
    for (size_t i = 0; i <= kMaxSmallSize / 16; ++i) of[i] = static_cast<uint8_t>(SizeClassOf(i * 16));
  }
};
inline constexpr SmallClassTable kSmallClasses;

inline int FastSizeClassOf(size_t size) {
  if (size <= kMaxSmallSize) [[likely]] return kSmallClasses.of[(size + 15) >> 4];
  return SizeClassOf(size);
}

constexpr size_t ClassSize(int size_class) {
  if (size_class < 8) return kMinBlockSize * (size_class + 1);
  int k = size_class / 8 + 6;
  int eighth = size_class % 8;
  return (size_t{1} << k) + (eighth + 1) * (size_t{1} << (k - 3));
}

static_assert(SizeClassOf(kMaxPooledSize) == kClassCount - 1);
static_assert(ClassSize(kClassCount - 1) == kMaxPooledSize);

// Pages are 64 KiB for blocks up to 8 KiB and 512 KiB above, so every page holds at least
// eight blocks.
enum class PageKind : uint8_t { kSmall, kMedium };
inline constexpr int kPageKinds = 2;

constexpr PageKind PageKindOf(int size_class) {
  return ClassSize(size_class) <= (size_t{8} << 10) ? PageKind::kSmall : PageKind::kMedium;
}

}  // namespace poolscope::engine::pool

#endif  // POOLSCOPE_SRC_ENGINE_POOL_SIZE_CLASS_H_
