// `poolscope check`: budgets for CI. Sizes accept IEC and SI suffixes (64MiB = 2^26 bytes,
// 64MB = 64 * 10^6 bytes, also KiB/GiB/kB/GB, K/M/G as IEC); counts accept k/M/G as SI.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_BUDGET_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_BUDGET_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "report_text.h"
#include "summary.h"

namespace poolscope::analysis {

absl::StatusOr<uint64_t> ParseSize(const std::string& text);
absl::StatusOr<uint64_t> ParseCount(const std::string& text);

struct Budget {
  std::optional<uint64_t> max_peak;
  std::optional<uint64_t> max_leaked;
  std::optional<uint64_t> max_allocs;
  std::optional<uint64_t> max_temporary;
};

// A budget file: one `name = value` per line (`max-peak = 64MiB`), `#` comments, blank lines.
absl::StatusOr<Budget> ReadBudgetFile(const std::string& path);

// Sets one budget from its option name (max-peak, max-leaked, max-allocs, max-temporary).
absl::Status SetBudget(Budget& budget, const std::string& name, const std::string& value);

struct BudgetResult {
  std::string name;   // "max-peak"
  uint64_t limit;
  uint64_t actual;
  bool exceeded;
  std::string line;   // one line for humans, naming the top responsible site when exceeded
};

std::vector<BudgetResult> CheckBudget(const TraceAnalysis& analysis, const Budget& budget,
                                      const FrameNamer& name_frame);

// JUnit XML with one test case per budget, for CI systems to display.
std::string BudgetJUnit(const std::vector<BudgetResult>& results, const std::string& trace);

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_BUDGET_H_
