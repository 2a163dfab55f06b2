// Every operating-system call of the pool engine, behind a few primitives.
//
// None of these allocate; all report failure by return value (never errno-only), and none
// abort: the engine decides what a failure means.
#ifndef POOLSCOPE_SRC_ENGINE_POOL_OS_H_
#define POOLSCOPE_SRC_ENGINE_POOL_OS_H_

#include <cstddef>
#include <cstdint>

#include "common/config.h"

namespace poolscope::engine::pool::os {

inline constexpr size_t kPageSize = 4096;
inline constexpr size_t kHugePageSize = size_t{2} << 20;

constexpr size_t RoundUp(size_t n, size_t alignment) {
  return (n + alignment - 1) & ~(alignment - 1);
}

// Reserves address space without backing it: PROT_NONE, not counted as commit.
void* Reserve(size_t size);
// Reserves `size` bytes aligned to `alignment` (a power of two), trimming the excess.
void* ReserveAligned(size_t size, size_t alignment);
void Release(void* addr, size_t size);

// Makes reserved memory usable. With kHugetlb, maps reserved huge pages over it and returns
// false when none are available (the caller falls back to kThp).
bool Commit(void* addr, size_t size, common::HugePages mode);
// Marks a range for transparent huge pages (madvise mode) or against them (kOff).
void AdviseHugePages(void* addr, size_t size, common::HugePages mode);
// Gives the memory back to the OS; the range stays mapped and reads as zero afterwards.
void Purge(void* addr, size_t size);

// A new read-write anonymous mapping of `size` bytes aligned to `alignment`, or nullptr.
void* MapAligned(size_t size, size_t alignment);
// Grows or shrinks a mapping in place; false if the pages after it are taken.
bool ResizeInPlace(void* addr, size_t old_size, size_t new_size);
// Moves a mapping (page tables only, no copying) to a fresh address aligned to `alignment`.
void* MoveAligned(void* addr, size_t old_size, size_t new_size, size_t alignment);

// Reads `size` bytes at `addr` without faulting when the memory is not mapped or readable.
bool SafeRead(const void* addr, void* out, size_t size);

// Monotonic milliseconds, from the vDSO (no syscall).
uint64_t NowMs();

}  // namespace poolscope::engine::pool::os

#endif  // POOLSCOPE_SRC_ENGINE_POOL_OS_H_
