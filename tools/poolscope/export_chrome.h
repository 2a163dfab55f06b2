// `poolscope export --format chrome`: Chrome's trace-event JSON, which Perfetto
// (ui.perfetto.dev) and chrome://tracing open. Counter tracks ("ph":"C"): `heap`, the live heap
// bytes over time (TraceAnalysis::heap_timeline: the highest point of each stretch, so the peak
// is there, then the value at the end), `rss` from the MemorySample records (and `anon huge
// pages` when the trace saw any); each phase mark (poolscope_mark) is a global instant event
// ("ph":"i"). Times are microseconds since the process started.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_CHROME_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_CHROME_H_

#include <string>

#include "report_text.h"
#include "summary.h"

namespace poolscope::analysis {

// `name_frame` names the site holding most at the peak, in the peak's instant event.
std::string ExportChrome(const TraceAnalysis& analysis, const FrameNamer& name_frame);

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_CHROME_H_
