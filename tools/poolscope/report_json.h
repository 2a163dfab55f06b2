// `poolscope report --format json`: the report for machines. One JSON document carrying
// "schema_version" (docs/report.schema.json describes it): the trace and process, the summary,
// the top sites by peak, allocations, leaks and temporaries (frames named, with raw addresses
// and module+offset), the size and lifetime histograms and per-thread totals.
//
// Counts and byte figures are JSON integers; addresses and offsets are hex strings ("0x7f3a..."),
// so no consumer loses bits to doubles.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_REPORT_JSON_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_REPORT_JSON_H_

#include <string>

#include "report_text.h"
#include "summary.h"

namespace poolscope::analysis {

inline constexpr int kReportSchemaVersion = 3;

struct JsonReportOptions {
  int sites_per_table = 10;
  int frames_per_site = 64;
};

std::string FormatJsonReport(const TraceAnalysis& analysis, const std::string& path,
                             const FrameNamer& name_frame, JsonReportOptions options = {});

// `text` as a JSON string literal, quotes included. Bytes that are not UTF-8 become U+FFFD.
std::string JsonQuote(const std::string& text);

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_REPORT_JSON_H_
