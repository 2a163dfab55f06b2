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

  // The size and lifetime histograms side by side, one power-of-two bucket a row: the bucket's
  // lower bound (it ends below twice that), its blocks, their share and a bar. A run of empty
  // buckets takes one row: each row covers up to the next row's bound.
  auto rows = [](const std::vector<HistogramBucket>& h, auto label) {
    std::vector<std::string> lines;
    uint64_t total = 0, most = 0;
    int first = -1, last = -1;
    for (int k = 0; k < static_cast<int>(h.size()); ++k) {
      total += h[k].blocks;
      most = std::max(most, h[k].blocks);
      if (h[k].blocks == 0) continue;
      if (first < 0) first = k;
      last = k;
    }
    for (int k = first; first >= 0 && k <= last; ++k) {
      uint64_t n = h[k].blocks;
      if (n == 0 && k > first && h[k - 1].blocks == 0) continue;
      int bar = n == 0 ? 0 : std::max<int>(1, static_cast<int>(n * 18 / most));
      lines.push_back(absl::StrFormat("%9s %10d %5.1f%% %s", label(BucketLow(k)), n,
                                      100.0 * n / total, std::string(bar, '#')));
    }
    return lines;
  };
  auto size_label = [](uint64_t low) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int unit = 0;
    while (low >= 1024) low /= 1024, ++unit;
    return absl::StrCat(low, " ", units[unit]);
  };
  auto time_label = [](uint64_t ns) {
    const char* units[] = {"ns", "us", "ms", "s"};
    double v = static_cast<double>(ns);
    int unit = 0;
    while (v >= 1000 && unit < 3) v /= 1000, ++unit;
    if (unit == 0) return absl::StrCat(ns, " ns");
    return absl::StrFormat(v < 9.995 ? "%.2f %s" : v < 99.95 ? "%.1f %s" : "%.0f %s", v,
                           units[unit]);
  };
  std::vector<std::string> sizes = rows(a.size_histogram, size_label);
  std::vector<std::string> lifetimes = rows(a.lifetime_histogram, time_label);
  if (!sizes.empty() || !lifetimes.empty()) {
    absl::StrAppendFormat(&out, "\n  %-48s  %s\n", "allocation sizes (blocks by size)",
                          "lifetimes (from allocation to free)");
    absl::StrAppendFormat(&out, "  %-48s  %s\n", "     from     blocks  share",
                          "     from     blocks  share");
    for (size_t i = 0; i < std::max(sizes.size(), lifetimes.size()); ++i) {
      std::string line = absl::StrFormat("  %-48s  %s", i < sizes.size() ? sizes[i] : "",
                                         i < lifetimes.size() ? lifetimes[i] : "");
      line.erase(line.find_last_not_of(' ') + 1);
      out += line + "\n";
    }
  }
  return out;
}

}  // namespace poolscope::analysis
