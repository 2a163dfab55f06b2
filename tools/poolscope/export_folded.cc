#include "export_folded.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"

namespace poolscope::analysis {
namespace {

uint64_t Metric(const SiteStats& s, FoldedMetric metric) {
  switch (metric) {
    case FoldedMetric::kAllocatedBytes:
      return s.allocated_bytes;
    case FoldedMetric::kAllocations:
      return s.allocations;
    case FoldedMetric::kPeakBytes:
      return s.peak_bytes;
    case FoldedMetric::kLeakedBytes:
      return s.leaked_bytes;
  }
  return 0;
}

// ';' separates frames and a space ends the stack: names must carry neither.
std::string Clean(std::string name) {
  std::replace(name.begin(), name.end(), ';', ':');
  std::replace(name.begin(), name.end(), ' ', '_');
  return name;
}

}  // namespace

std::string ExportFolded(const TraceAnalysis& a, const FrameNamer& name_frame,
                         FoldedMetric metric) {
  std::vector<std::pair<std::string, uint64_t>> lines;
  for (const SiteStats& s : a.sites) {
    uint64_t value = Metric(s, metric);
    if (value == 0) continue;
    std::vector<uint64_t> frames = a.Frames(s.stack);
    std::string stack;
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
      std::string names = name_frame(*it);
      std::vector<std::string_view> inlined = FrameLines(names);
      for (auto line = inlined.rbegin(); line != inlined.rend(); ++line) {
        absl::StrAppend(&stack, stack.empty() ? "" : ";", Clean(std::string(*line)));
      }
    }
    if (stack.empty()) stack = "[unknown stack]";
    lines.emplace_back(std::move(stack), value);
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& [stack, value] : lines) absl::StrAppend(&out, stack, " ", value, "\n");
  return out;
}

}  // namespace poolscope::analysis
