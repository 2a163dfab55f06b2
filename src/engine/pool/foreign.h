// Pointers the pool engine did not hand out: neither in the arena nor a large block.
//
// They are either glibc's (memory from glibc's malloc reached around us, e.g. through
// dlsym(RTLD_NEXT, "malloc")), which go back to glibc, or a bug in the program (a stack
// pointer, a pointer into a foreign mapping, a double free of a large block). A glibc chunk is
// recognised by reading its header without risking a fault and checking it is consistent; the
// rest is reported, rate-limited, and ignored: the program goes on, and nothing is corrupted.
#ifndef POOLSCOPE_SRC_ENGINE_POOL_FOREIGN_H_
#define POOLSCOPE_SRC_ENGINE_POOL_FOREIGN_H_

#include <cstddef>
#include <cstdint>

namespace poolscope::engine::pool {

enum class ForeignKind { kGlibcChunk, kInvalid };

// Classifies `p`; on kInvalid, *why says what it looks like.
ForeignKind ClassifyForeign(const void* p, const char** why);

// One line on stderr per invalid pointer, for the first kMaxReports of them, then one line
// saying further reports are suppressed. Safe on the allocation path.
void ReportInvalidPointer(const char* call, const void* p, const char* why);
inline constexpr int kMaxReports = 16;

// Invalid pointers seen so far, reported or not.
uint64_t InvalidPointerCount();

}  // namespace poolscope::engine::pool

#endif  // POOLSCOPE_SRC_ENGINE_POOL_FOREIGN_H_
