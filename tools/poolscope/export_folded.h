// `poolscope export --format folded`: one line per call stack, outermost frame first, frames
// separated by ';', then a space and a count — the input of flamegraph.pl, inferno and
// speedscope's importer. The sums of a column equal the report's totals.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_FOLDED_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_FOLDED_H_

#include <string>

#include "report_text.h"
#include "summary.h"

namespace poolscope::analysis {

// What the counts measure.
enum class FoldedMetric { kAllocatedBytes, kAllocations, kPeakBytes, kLeakedBytes };

std::string ExportFolded(const TraceAnalysis& analysis, const FrameNamer& name_frame,
                         FoldedMetric metric);

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_FOLDED_H_
