// `poolscope diff BASE NEW`: what grew between two traces, site by site, and the CI gate on it.
//
// Sites are matched by the names of their frames (the FrameNamer's text, innermost first), never
// by raw addresses: BASE and NEW are usually different runs or builds, loaded at different
// addresses. Sites of one trace whose frames have the same names are merged.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_DIFF_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_DIFF_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "report_text.h"
#include "summary.h"

namespace poolscope::analysis {

enum class DiffMetric { kPeak, kLeaked, kAllocs, kTemporary };

// "peak", "leaked", "allocs", "temporary".
const char* DiffMetricName(DiffMetric metric);

struct DiffFigures {
  uint64_t peak_bytes = 0;  // per site: held at the trace's peak
  uint64_t allocations = 0;
  uint64_t leaked_bytes = 0;
  uint64_t temporary = 0;

  uint64_t Get(DiffMetric metric) const;
};

struct SiteDiff {
  std::vector<std::string> frames;  // the key: frame names, innermost first
  bool in_base = false;
  bool in_new = false;
  DiffFigures base;
  DiffFigures now;
};

struct TraceDiff {
  DiffFigures base_total;  // whole-trace totals: peak heap, allocations, leaked, temporaries
  DiffFigures new_total;
  std::vector<SiteDiff> sites;  // every site of either trace, by impact (see DiffTraces)
  uint64_t unchanged_sites = 0;  // sites whose four figures are equal in both traces
};

// Sorted by impact: the absolute change of the site's peak contribution, then of its
// allocations, then of its leaked bytes, then of its temporaries; ties by frame names.
TraceDiff DiffTraces(const TraceAnalysis& base, const FrameNamer& base_namer,
                     const TraceAnalysis& now, const FrameNamer& new_namer);

struct DiffTextOptions {
  int max_sites = 20;
  int frames_per_site = 3;
};

// The totals, then the changed sites by impact with base, new and delta for peak,
// allocations and leaked bytes. Fits 100 columns.
std::string FormatDiff(const TraceDiff& diff, const std::string& base_path,
                       const std::string& new_path, DiffTextOptions options = {});

// A --fail-on threshold: METRIC:+N% (relative growth) or METRIC:+AMOUNT (absolute growth;
// a size for peak and leaked, a count for allocs and temporary). The '+' may be left out.
struct FailOn {
  std::string spec;  // as given
  DiffMetric metric = DiffMetric::kPeak;
  bool percent = false;
  double percent_limit = 0;  // with `percent`
  uint64_t limit = 0;        // without
};

absl::StatusOr<FailOn> ParseFailOn(const std::string& spec);

struct FailOnResult {
  bool exceeded = false;
  std::string line;  // one line for humans
};

// Exceeded when the total grew by more than the threshold. From a total of 0, any growth
// exceeds a percentage.
FailOnResult CheckFailOn(const TraceDiff& diff, const FailOn& fail_on);

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_DIFF_H_
