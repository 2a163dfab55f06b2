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

// One frame of a stack as the reports list them: a FrameLines line of its return address.
struct NamedFrame {
  uint64_t address;
  std::string name;
  bool inlined;  // a call inlined at `address`: the next frame is the function it was inlined into
};

// The innermost `limit` frames of `stack`, inlined calls counted as frames; `*cut` (when given)
// says whether any were left out.
std::vector<NamedFrame> NamedFrames(const TraceAnalysis& analysis, uint64_t stack,
                                    const FrameNamer& name_frame, int limit, bool* cut = nullptr);

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
