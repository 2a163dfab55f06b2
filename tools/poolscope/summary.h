// The whole-trace totals that `poolscope run` and `poolscope report` print: calls, bytes, peak
// heap and when, leaks. Computed streaming, with memory bounded by the live blocks.
//
// Events are taken in time order across threads (ReadTraceInTimeOrder), so the peak is the
// peak of the merged timeline and a block freed by another thread is never mistaken for a
// leak, whatever order the threads' frames were written in.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_SUMMARY_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_SUMMARY_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "poolscope/trace_format.h"
#include "trace_reader.h"

namespace poolscope::analysis {

struct TraceSummary {
  TraceReadSummary read;
  uint64_t pid = 0;
  std::string executable;
  std::string engine;
  uint64_t sample_bytes = 0;
  uint64_t allocations = 0;  // sampled traces: estimated from the weights
  uint64_t frees = 0;
  uint64_t reallocations = 0;
  uint64_t allocated_bytes = 0;
  uint64_t peak_bytes = 0;
  uint64_t peak_time_ns = 0;  // since the process started
  uint64_t leaked_bytes = 0;
  uint64_t leaked_blocks = 0;
  uint64_t threads = 0;
  uint64_t stack_nodes = 0;
  uint64_t modules = 0;
  uint64_t phase_marks = 0;
  bool ended = false;
  int64_t exit_status = -1;
  uint64_t duration_ns = 0;
  uint64_t caps_reached = 0;
  // From the recorder's memory samples (every 250 ms): 0 when the trace has none.
  uint64_t peak_rss_bytes = 0;
  uint64_t peak_rss_time_ns = 0;
  uint64_t peak_rss_huge_bytes = 0;  // AnonHugePages at the peak RSS sample
};

absl::StatusOr<TraceSummary> SummarizeTrace(const std::string& path);

// What one allocation site (a distinct call stack) did over the whole trace.
struct SiteStats {
  uint64_t stack = 0;  // the innermost stack node (0: unknown)
  uint64_t allocations = 0;
  uint64_t allocated_bytes = 0;
  uint64_t temporary = 0;  // freed by their thread before it allocated anything else
  uint64_t peak_bytes = 0;  // held at the moment of the peak
  uint64_t peak_blocks = 0;
  uint64_t leaked_bytes = 0;  // still held at the end
  uint64_t leaked_blocks = 0;
  uint64_t max_live_bytes = 0;  // the most it held at any one time
  uint64_t max_live_blocks = 0;  // the blocks it held then
  // Allocation-to-free time summed over its blocks; blocks still live count to the trace's end.
  uint64_t total_lifetime_ns = 0;
  uint64_t live_bytes = 0;  // held now (while reading; after it, equal to leaked_*)
  uint64_t live_blocks = 0;
};

struct ModuleInfo {
  uint64_t load_address = 0;
  uint64_t size = 0;
  std::string path;
  std::string build_id;
};

// One bucket of a power-of-two histogram: bucket k holds the values v with bit_width(v) == k,
// i.e. [2^(k-1), 2^k), and bucket 0 holds v == 0. Blocks of a sampled trace count by weight.
struct HistogramBucket {
  uint64_t blocks = 0;
  uint64_t bytes = 0;
};
inline constexpr int kHistogramBuckets = 65;
// The inclusive bounds of bucket k: [BucketLow(k), BucketHigh(k)].
inline uint64_t BucketLow(int k) { return k == 0 ? 0 : uint64_t{1} << (k - 1); }
inline uint64_t BucketHigh(int k) {
  return k == 0 ? 0 : k == 64 ? ~uint64_t{0} : (uint64_t{1} << k) - 1;
}

// What one thread (the trace's thread number) did. Temporaries are judged per thread.
struct ThreadStats {
  uint32_t thread = 0;
  uint64_t kernel_tid = 0;  // 0 when the trace has no thread-start record for it
  uint64_t allocations = 0;
  uint64_t allocated_bytes = 0;
  uint64_t frees = 0;
  uint64_t temporary = 0;
};

// A time series is kept to at most this many points: time is cut into equal buckets, each
// keeping its highest point, and the buckets widen as the trace goes on.
inline constexpr size_t kTimelinePoints = 10000;

// A MemorySample record; times here are nanoseconds since the process started.
struct MemorySample {
  uint64_t time_ns = 0;
  uint64_t rss_bytes = 0;
  uint64_t anon_huge_bytes = 0;
  uint64_t heap_huge_bytes = 0;
  uint64_t heap_rss_bytes = 0;
};

// A mapping the program made with mmap (the engines' own are not recorded): as first mapped,
// and when its last byte went away.
struct MmapRegion {
  uint64_t address = 0;
  uint64_t length = 0;  // the most it spanned (mremap may grow it)
  uint64_t prot = 0;
  uint64_t flags = 0;
  int64_t fd = -1;
  uint64_t stack = 0;
  uint64_t mapped_ns = 0;  // since the process started
  bool unmapped = false;
  uint64_t unmapped_ns = 0;
  bool anonymous() const { return (flags & 0x20) != 0; }  // MAP_ANONYMOUS
};

// The program's own mappings, outside malloc.
struct MmapStats {
  uint64_t mmaps = 0;
  uint64_t munmaps = 0;
  uint64_t mremaps = 0;
  uint64_t peak_bytes = 0;  // the most mapped at once
  uint64_t peak_time_ns = 0;
  uint64_t live_bytes = 0;  // still mapped at the end
  uint64_t live_regions = 0;
  // The largest mappings, by length, at most kMmapRegionsKept.
  std::vector<MmapRegion> largest;
};
inline constexpr size_t kMmapRegionsKept = 20;

struct PhaseMark {
  uint64_t time_ns = 0;  // since the process started
  std::string name;
};

struct TraceAnalysis {
  TraceSummary summary;
  uint64_t temporary = 0;
  std::vector<SiteStats> sites;  // every site, unordered
  // Allocations (and reallocations) by requested size; kHistogramBuckets entries.
  std::vector<HistogramBucket> size_histogram;
  // Blocks freed (or moved by realloc) by nanoseconds from allocation to free; blocks still
  // live at the end and blocks allocated before recording began are not in it.
  std::vector<HistogramBucket> lifetime_histogram;
  std::vector<ThreadStats> threads;  // ordered by thread number
  absl::flat_hash_map<uint64_t, trace_format::StackNodeRecord> stack_nodes;
  std::vector<ModuleInfo> modules;
  // Live heap bytes over time, as (ns since the process started, bytes): at most
  // kTimelinePoints, each the highest of its bucket (so the peak is there), then the end.
  std::vector<std::pair<uint64_t, uint64_t>> heap_timeline;
  // The MemorySample records, at most kTimelinePoints (the highest RSS of each bucket).
  std::vector<MemorySample> memory_samples;
  std::vector<PhaseMark> phase_marks;  // the first kTimelinePoints, in time order
  MmapStats mmap;

  // The stack of `stack`, innermost return address first.
  std::vector<uint64_t> Frames(uint64_t stack) const;
};

// The summary plus per-site figures, in one pass (sites record their holding lazily at each
// new peak). Memory: live blocks, sites and stack nodes. `lookahead`: as for
// ReadTraceInTimeOrder.
absl::StatusOr<TraceAnalysis> AnalyzeTrace(const std::string& path,
                                           trace_format::RecordVisitor* lookahead = nullptr);

// "1.5 MiB", "820 B": sizes as people read them.
std::string HumanBytes(uint64_t bytes);

// A short, human-readable block of text (fits 100 columns).
std::string FormatSummary(const TraceSummary& summary, const std::string& path);

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_SUMMARY_H_
