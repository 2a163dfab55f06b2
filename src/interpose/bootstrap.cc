#include "interpose/bootstrap.h"

#include <atomic>

namespace poolscope::interpose::bootstrap {

// In .bss: it costs address space only, and only the pages actually used become resident.
alignas(kMaxAlignment) char arena[kArenaBytes];

namespace {

std::atomic<size_t> next_offset{0};

struct Header {
  size_t size;
  size_t padding;  // keeps the payload 16-byte aligned
};
static_assert(sizeof(Header) == kMinAlignment);

}  // namespace

void* Allocate(size_t size, size_t alignment) {
  if (alignment < kMinAlignment) alignment = kMinAlignment;
  if (alignment > kMaxAlignment || size > kArenaBytes) return nullptr;
  size_t rounded = (size + kMinAlignment - 1) & ~(kMinAlignment - 1);
  size_t offset = next_offset.load(std::memory_order_relaxed);
  size_t payload;
  do {
    payload = (offset + sizeof(Header) + alignment - 1) & ~(alignment - 1);
    if (payload + rounded > kArenaBytes) return nullptr;
  } while (!next_offset.compare_exchange_weak(offset, payload + rounded,
                                              std::memory_order_relaxed));
  reinterpret_cast<Header*>(arena + payload)[-1].size = size;
  return arena + payload;
}

size_t SizeOf(const void* ptr) { return static_cast<const Header*>(ptr)[-1].size; }

size_t BytesUsed() { return next_offset.load(std::memory_order_relaxed); }

}  // namespace poolscope::interpose::bootstrap
