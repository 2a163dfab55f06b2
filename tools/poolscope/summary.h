// The whole-trace totals that `poolscope run` and `poolscope report` print: calls, bytes, peak
// heap and when, leaks. Computed streaming, with memory bounded by the live blocks.
//
// Events are taken in file order. Frames of one thread are in time order, so for a program
// whose allocations happen on one thread at a time the figures are exact; with several
// threads allocating at once, the peak is the peak in file order (the full report's merge by
// timestamp is the report tool's work).
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_SUMMARY_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_SUMMARY_H_

#include <cstdint>
#include <string>

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
};

absl::StatusOr<TraceSummary> SummarizeTrace(const std::string& path);

// A short, human-readable block of text (fits 100 columns).
std::string FormatSummary(const TraceSummary& summary, const std::string& path);

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_SUMMARY_H_
