// A lock-free bump allocator over a fixed region, for memory that must be handed out where no
// lock may be taken: before the engine exists, and inside signal handlers that interrupted the
// engine. Blocks are never reused; each carries a 16-byte header with its size so realloc and
// malloc_usable_size work, and ownership is one range check.
#ifndef POOLSCOPE_SRC_COMMON_BUMP_ARENA_H_
#define POOLSCOPE_SRC_COMMON_BUMP_ARENA_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace poolscope::common {

class BumpArena {
 public:
  static constexpr size_t kMinAlignment = 16;
  static constexpr size_t kMaxAlignment = 4096;

  constexpr BumpArena() = default;
  constexpr BumpArena(char* base, size_t size) : base_(base), size_(size) {}
  void Reset(char* base, size_t size) {
    base_ = base;
    size_ = size;
    next_.store(0, std::memory_order_relaxed);
  }

  bool Owns(const void* p) const {
    return reinterpret_cast<uintptr_t>(p) - reinterpret_cast<uintptr_t>(base_) < size_;
  }

  // Zeroed memory if the region was (it is never reused), or nullptr when exhausted or the
  // alignment is above kMaxAlignment.
  void* Allocate(size_t size, size_t alignment = kMinAlignment) {
    if (alignment < kMinAlignment) alignment = kMinAlignment;
    if (alignment > kMaxAlignment || size > size_) return nullptr;
    size_t rounded = (size + kMinAlignment - 1) & ~(kMinAlignment - 1);
    size_t offset = next_.load(std::memory_order_relaxed);
    size_t payload;
    do {
      payload = (offset + sizeof(Header) + alignment - 1) & ~(alignment - 1);
      if (payload + rounded > size_) return nullptr;
    } while (!next_.compare_exchange_weak(offset, payload + rounded, std::memory_order_relaxed));
    reinterpret_cast<Header*>(base_ + payload)[-1].size = size;
    return base_ + payload;
  }

  // The size requested for a block that Owns().
  static size_t SizeOf(const void* p) { return static_cast<const Header*>(p)[-1].size; }

  size_t BytesUsed() const { return next_.load(std::memory_order_relaxed); }
  size_t capacity() const { return size_; }
  const char* base() const { return base_; }

 private:
  struct Header {
    size_t size;
    size_t padding;  // keeps the payload 16-byte aligned
  };
  static_assert(sizeof(Header) == kMinAlignment);

  char* base_ = nullptr;
  size_t size_ = 0;
  std::atomic<size_t> next_{0};
};

}  // namespace poolscope::common

#endif  // POOLSCOPE_SRC_COMMON_BUMP_ARENA_H_
