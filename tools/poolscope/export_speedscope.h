// `poolscope export --format speedscope`: speedscope's own JSON file format
// (https://www.speedscope.app/file-format-schema.json). Four "sampled" profiles, one per metric
// — allocated bytes, allocations, bytes held at the peak, leaked bytes — each with one sample
// per site (its stack, outermost frame first) weighted by the metric; frames, one per distinct
// name the FrameNamer gives, are shared in `shared.frames`. Weights sum to the report's totals.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_SPEEDSCOPE_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_SPEEDSCOPE_H_

#include <string>

#include "report_text.h"
#include "summary.h"

namespace poolscope::analysis {

std::string ExportSpeedscope(const TraceAnalysis& analysis, const FrameNamer& name_frame);

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_SPEEDSCOPE_H_
