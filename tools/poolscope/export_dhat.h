// `poolscope export --format dhat`: the JSON file (version 2, mode "heap") of Valgrind's DHAT,
// which its viewer, dh_view.html, loads. One program point ("pp") per site: total bytes and
// blocks (tb, tbk), total lifetimes (tl), the most held at once (mb, mbk), held at the global
// peak (gb, gbk) and at the end (eb, ebk); `fs` indexes `ftbl`, whose entries are
// "0xADDRESS: name" innermost first, as DHAT writes them. No access counts (bkacc is false).
// Times are microseconds ("µs", and the rates per second): te is the run's length, tg the
// peak's time; blocks living at most `tuth` µs on average are shown as short-lived.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_DHAT_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_DHAT_H_

#include <string>

#include "report_text.h"
#include "summary.h"

namespace poolscope::analysis {

std::string ExportDhat(const TraceAnalysis& analysis, const FrameNamer& name_frame);

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_DHAT_H_
