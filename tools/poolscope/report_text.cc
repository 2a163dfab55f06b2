#include "report_text.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace poolscope::analysis {
namespace {

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

struct Table {
  const char* title;
  uint64_t SiteStats::*metric;
  bool bytes;  // the metric is a byte count
};

constexpr Table kTables[] = {
    {"sites holding the peak heap", &SiteStats::peak_bytes, true},
    {"sites allocating most often", &SiteStats::allocations, false},
    {"sites leaking (still allocated at the end)", &SiteStats::leaked_bytes, true},
    {"sites making temporary allocations (freed before the next allocation)",
     &SiteStats::temporary, false},
};

}  // namespace

std::string HumanBytes(uint64_t n) {
  if (n < 10 * 1024) return absl::StrCat(n, " B");
  if (n < 10ULL * 1024 * 1024) return absl::StrFormat("%.1f KiB", n / 1024.0);
  if (n < 10ULL * 1024 * 1024 * 1024) return absl::StrFormat("%.1f MiB", n / 1048576.0);
  return absl::StrFormat("%.2f GiB", n / 1073741824.0);
}

FrameNamer ModuleOffsetNamer(const TraceAnalysis& analysis) {
  std::vector<ModuleInfo> modules = analysis.modules;
  return [modules](uint64_t address) {
    // The innermost containing module: a non-PIE executable's range starts at 0.
    const ModuleInfo* best = nullptr;
    for (const ModuleInfo& m : modules) {
      if (address >= m.load_address && address - m.load_address < m.size &&
          (best == nullptr || m.load_address > best->load_address)) {
        best = &m;
      }
    }
    if (best == nullptr) return absl::StrFormat("0x%x", address);
    return absl::StrFormat("%s+0x%x", Basename(best->path), address - best->load_address);
  };
}

std::string DescribeSite(const TraceAnalysis& analysis, const SiteStats& site,
                         const FrameNamer& name_frame) {
  std::vector<uint64_t> frames = analysis.Frames(site.stack);
  if (frames.empty()) return "an unknown stack";
  return name_frame(frames.front());
}

std::string FormatTextReport(const TraceAnalysis& a, const std::string& path,
                             const FrameNamer& name_frame, TextReportOptions options) {
  std::string out = FormatSummary(a.summary, path);
  absl::StrAppendFormat(&out, "temporary  %d allocations freed before their thread allocated again\n",
                        a.temporary);
  for (const Table& table : kTables) {
    std::vector<const SiteStats*> sites;
    for (const SiteStats& s : a.sites) {
      if (s.*(table.metric) > 0) sites.push_back(&s);
    }
    if (sites.empty()) continue;
    std::sort(sites.begin(), sites.end(), [&](const SiteStats* x, const SiteStats* y) {
      return x->*(table.metric) != y->*(table.metric) ? x->*(table.metric) > y->*(table.metric)
                                                      : x->stack < y->stack;
    });
    absl::StrAppendFormat(&out, "\n%s (%d sites)\n", table.title, sites.size());
    int shown = 0;
    for (const SiteStats* s : sites) {
      if (shown++ == options.sites_per_table) break;
      std::string figure = table.bytes ? HumanBytes(s->*(table.metric))
                                       : absl::StrCat(s->*(table.metric), " allocs");
      absl::StrAppendFormat(&out, "  %12s  %d allocs, %s allocated, %s leaked\n", figure,
                            s->allocations, HumanBytes(s->allocated_bytes),
                            HumanBytes(s->leaked_bytes));
      std::vector<uint64_t> frames = a.Frames(s->stack);
      if (frames.empty()) out += "                at an unknown stack\n";
      for (int f = 0; f < static_cast<int>(frames.size()) && f < options.frames_per_site; ++f) {
        std::string name = name_frame(frames[f]);
        if (name.size() > 82) name = name.substr(0, 79) + "...";
        absl::StrAppendFormat(&out, "                %s %s\n", f == 0 ? "at" : "by", name);
      }
    }
  }
  return out;
}

}  // namespace poolscope::analysis
