#include "export_chrome.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli_config.h"
#include "export_names.h"
#include "report_json.h"

namespace poolscope::analysis {
namespace {

// Trace-event timestamps are microseconds; keep the nanoseconds as decimals.
std::string Micros(uint64_t ns) { return absl::StrFormat("%d.%03d", ns / 1000, ns % 1000); }

}  // namespace

std::string ExportChrome(const TraceAnalysis& a, const FrameNamer& name_frame) {
  const uint64_t pid = a.summary.pid;
  std::string out = "{\"displayTimeUnit\":\"ms\",\n\"otherData\":{\"exporter\":\"poolscope ";
  absl::StrAppend(&out, POOLSCOPE_VERSION, "\",\"executable\":", JsonQuote(a.summary.executable),
                  "},\n\"traceEvents\":[\n");
  absl::StrAppend(
      &out, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":", pid,
      ",\"tid\":0,\"args\":{\"name\":",
      JsonQuote(a.summary.executable.empty() ? "poolscope trace" : a.summary.executable), "}}");
  auto counter = [&](const char* name, uint64_t ns, uint64_t bytes) {
    absl::StrAppend(&out, ",\n{\"name\":\"", name, "\",\"ph\":\"C\",\"ts\":", Micros(ns),
                    ",\"pid\":", pid, ",\"tid\":0,\"args\":{\"bytes\":", bytes, "}}");
  };
  for (const auto& [ns, bytes] : a.heap_timeline) counter("heap", ns, bytes);
  bool huge = false;
  for (const MemorySample& m : a.memory_samples) {
    counter("rss", m.time_ns, m.rss_bytes);
    huge |= m.anon_huge_bytes > 0;
  }
  if (huge) {
    for (const MemorySample& m : a.memory_samples) {
      counter("anon huge pages", m.time_ns, m.anon_huge_bytes);
    }
  }
  for (const PhaseMark& mark : a.phase_marks) {
    absl::StrAppend(&out, ",\n{\"name\":", JsonQuote(mark.name),
                    ",\"cat\":\"phase\",\"ph\":\"i\",\"s\":\"g\",\"ts\":", Micros(mark.time_ns),
                    ",\"pid\":", pid, ",\"tid\":0}");
  }
  // The peak, with the site holding most of it.
  if (a.summary.peak_bytes > 0) {
    const SiteStats* top = nullptr;
    for (const SiteStats& s : a.sites) {
      if (s.peak_bytes > 0 && (top == nullptr || s.peak_bytes > top->peak_bytes ||
                               (s.peak_bytes == top->peak_bytes && s.stack < top->stack))) {
        top = &s;
      }
    }
    absl::StrAppend(&out, ",\n{\"name\":\"peak heap\",\"cat\":\"poolscope\",\"ph\":\"i\",",
                    "\"s\":\"p\",\"ts\":", Micros(a.summary.peak_time_ns), ",\"pid\":", pid,
                    ",\"tid\":0,\"args\":{\"bytes\":", a.summary.peak_bytes);
    if (top != nullptr) {
      absl::StrAppend(&out, ",\"top_site\":", JsonQuote(DescribeSite(a, *top, name_frame)),
                      ",\"top_site_bytes\":", top->peak_bytes);
    }
    out += "}}";
  }
  out += "\n]}\n";
  return out;
}

}  // namespace poolscope::analysis
