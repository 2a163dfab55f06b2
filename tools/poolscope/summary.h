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
};

struct ModuleInfo {
  uint64_t load_address = 0;
  uint64_t size = 0;
  std::string path;
  std::string build_id;
};

struct TraceAnalysis {
  TraceSummary summary;
  uint64_t temporary = 0;
  std::vector<SiteStats> sites;  // every site, unordered
  absl::flat_hash_map<uint64_t, trace_format::StackNodeRecord> stack_nodes;
  std::vector<ModuleInfo> modules;

  // The stack of `stack`, innermost return address first.
  std::vector<uint64_t> Frames(uint64_t stack) const;
};

// The summary plus per-site figures. Two passes over the file: the first finds the peak, the
// second stops there to see which sites held it. Memory: live blocks, sites and stack nodes.
absl::StatusOr<TraceAnalysis> AnalyzeTrace(const std::string& path);

// A short, human-readable block of text (fits 100 columns).
std::string FormatSummary(const TraceSummary& summary, const std::string& path);

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_SUMMARY_H_
