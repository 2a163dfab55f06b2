// `poolscope report --format text`: the summary, then the sites that matter most, each with its
// call stack, in a layout that fits a 100-column terminal (what CI logs show).
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_REPORT_TEXT_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_REPORT_TEXT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "summary.h"

namespace poolscope::analysis {

// Names one return address for display, e.g. "parse_config config.c:42". Where calls were
// inlined at the address, one line per frame: the innermost inlined call first, the function
// that holds the code last (FrameLines splits them).
using FrameNamer = std::function<std::string(uint64_t return_address)>;

// The frames of a FrameNamer's text, innermost first.
std::vector<std::string_view> FrameLines(std::string_view names);

// "libfoo.so+0x1234" from the trace's module records; "0x7f..." outside every module.
FrameNamer ModuleOffsetNamer(const TraceAnalysis& analysis);

struct TextReportOptions {
  int sites_per_table = 10;
  int frames_per_site = 4;
};

std::string FormatTextReport(const TraceAnalysis& analysis, const std::string& path,
                             const FrameNamer& name_frame, TextReportOptions options = {});

// The site holding the most of `metric`, as "name_of_innermost_frame" (for one-line messages).
std::string DescribeSite(const TraceAnalysis& analysis, const SiteStats& site,
                         const FrameNamer& name_frame);


}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_REPORT_TEXT_H_
