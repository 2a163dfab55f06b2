#include "engine/pool/foreign.h"

#include <atomic>

#include "common/log.h"
#include "engine/pool/os.h"

namespace poolscope::engine::pool {
namespace {

std::atomic<uint64_t> invalid_count{0};

// glibc's chunk header precedes the user pointer: the previous chunk's size (meaningful only in
// some states) and this chunk's size with three flag bits.
struct ChunkHeader {
  size_t prev_size;
  size_t size;
};
constexpr size_t kPrevInUse = 1;
constexpr size_t kIsMmapped = 2;
constexpr size_t kFlagBits = 7;
constexpr size_t kMinChunk = 32;
constexpr size_t kMaxStackBytes = size_t{8} << 20;

bool OnThisThreadsStack(const void* p) {
  char here;
  auto address = reinterpret_cast<uintptr_t>(p);
  auto sp = reinterpret_cast<uintptr_t>(&here);
  return address >= sp && address - sp < kMaxStackBytes;
}

}  // namespace

ForeignKind ClassifyForeign(const void* p, const char** why) {
  auto address = reinterpret_cast<uintptr_t>(p);
  if (OnThisThreadsStack(p)) {
    *why = "points into the stack";
    return ForeignKind::kInvalid;
  }
  if (address % 16 != 0) {
    *why = "is not the start of any block";
    return ForeignKind::kInvalid;
  }
  ChunkHeader header;
  if (!os::SafeRead(reinterpret_cast<const char*>(p) - sizeof(header), &header, sizeof(header))) {
    *why = "points to unmapped memory (a block freed twice, or never allocated)";
    return ForeignKind::kInvalid;
  }
  size_t chunk = header.size & ~kFlagBits;
  if (chunk >= kMinChunk && chunk % 16 == 0) {
    if (header.size & kIsMmapped) {
      // A chunk glibc mapped by itself: the mapping starts prev_size before the chunk.
      uintptr_t mapping = address - sizeof(header) - header.prev_size;
      if (mapping % os::kPageSize == 0 && (header.prev_size + chunk) % os::kPageSize == 0) {
        return ForeignKind::kGlibcChunk;
      }
    } else {
      // In glibc's heap the next chunk records whether this one is in use.
      size_t next_size;
      const char* next = reinterpret_cast<const char*>(p) - sizeof(header) + chunk;
      if (os::SafeRead(next + sizeof(size_t), &next_size, sizeof(next_size)) &&
          (next_size & kPrevInUse) != 0) {
        return ForeignKind::kGlibcChunk;
      }
    }
  }
  *why = "was not allocated by poolscope or glibc (a foreign mapping, or a block freed twice)";
  return ForeignKind::kInvalid;
}

void ReportInvalidPointer(const char* call, const void* p, const char* why) {
  uint64_t n = invalid_count.fetch_add(1, std::memory_order_relaxed);
  if (n < kMaxReports) {
    common::LogLine("%s(%p): the pointer %s; ignored", call, p, why);
  } else if (n == kMaxReports) {
    common::LogLine("further invalid-pointer reports suppressed (the count is in malloc_stats)");
  }
}

uint64_t InvalidPointerCount() { return invalid_count.load(std::memory_order_relaxed); }

}  // namespace poolscope::engine::pool
