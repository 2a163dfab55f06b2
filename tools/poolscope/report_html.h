// `poolscope report --format html`: the report for people, as one self-contained HTML file that
// needs no network (inline CSS, JS and SVG; no external URL at all): the summary, SVG charts of
// the heap (and RSS) over time and of the size and lifetime histograms, the top-sites tables and
// an interactive flame graph of the call stacks, switchable between bytes held at the peak,
// allocation counts and bytes leaked.
//
// Stable hooks for tests and scripts: svg#heap-chart, svg#size-histogram, svg#lifetime-histogram;
// div#flamegraph (its data-mode attribute says what is shown) holding div.fg-node elements with
// data-name and data-value; buttons with data-mode="peak|allocs|leaks"; the flame graph's data as
// JSON in script#fg-data. A URL fragment "#mode=leaks" picks the mode shown first. Script errors
// are written into div#report-errors.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_REPORT_HTML_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_REPORT_HTML_H_

#include <string>

#include "report_text.h"
#include "summary.h"

namespace poolscope::analysis {

struct HtmlReportOptions {
  int sites_per_table = 10;
  int frames_per_site = 4;  // in the tables
  int flame_depth = 128;  // innermost frames kept per stack in the flame graph
};

std::string FormatHtmlReport(const TraceAnalysis& analysis, const std::string& path,
                             const FrameNamer& name_frame, HtmlReportOptions options = {});

// `text` escaped for HTML text and attribute values (&, <, >, ", ').
std::string HtmlEscape(const std::string& text);

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_REPORT_HTML_H_
