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

constexpr size_t kThreadsShown = 10;
constexpr int kTimeRows = 10;

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

// The stack `stack` under an entry, innermost first, cut to fit 100 columns.
void AppendFrames(std::string& out, const TraceAnalysis& a, uint64_t stack,
                  const FrameNamer& name_frame, const TextReportOptions& options) {
  std::vector<NamedFrame> frames = NamedFrames(a, stack, name_frame, options.frames_per_site);
  if (frames.empty()) out += "                at an unknown stack\n";
  for (size_t f = 0; f < frames.size(); ++f) {
    std::string& name = frames[f].name;
    if (name.size() > 82) name = name.substr(0, 79) + "...";
    absl::StrAppendFormat(&out, "                %s %s\n", f == 0 ? "at" : "by", name);
  }
}

// "820 ns", "65.5 us", "1.05 ms", "12.0 s": three significant digits.
std::string DurationLabel(uint64_t ns) {
  const char* units[] = {"ns", "us", "ms", "s"};
  double v = static_cast<double>(ns);
  int unit = 0;
  while (v >= 1000 && unit < 3) v /= 1000, ++unit;
  if (unit == 0) return absl::StrCat(ns, " ns");
  return absl::StrFormat(v < 9.995 ? "%.2f %s" : v < 99.95 ? "%.1f %s" : "%.0f %s", v,
                         units[unit]);
}

// Threads by allocations, when there is more than one.
void AppendThreads(std::string& out, const TraceAnalysis& a) {
  if (a.threads.size() < 2) return;
  std::vector<const ThreadStats*> threads;
  for (const ThreadStats& t : a.threads) threads.push_back(&t);
  std::sort(threads.begin(), threads.end(), [](const ThreadStats* x, const ThreadStats* y) {
    return x->allocations != y->allocations ? x->allocations > y->allocations
                                            : x->thread < y->thread;
  });
  absl::StrAppendFormat(&out, "\nthreads by allocations (%d threads)\n", threads.size());
  absl::StrAppendFormat(&out, "  %7s %9s %12s %12s %12s %12s\n", "thread", "tid", "allocs",
                        "allocated", "frees", "temporary");
  for (size_t i = 0; i < threads.size() && i < kThreadsShown; ++i) {
    const ThreadStats& t = *threads[i];
    absl::StrAppendFormat(&out, "  %7d %9d %12d %12s %12d %12d\n", t.thread, t.kernel_tid,
                          t.allocations, HumanBytes(t.allocated_bytes), t.frees, t.temporary);
  }
}

// Heap, RSS and huge pages in kTimeRows equal spans of the run: the highest heap and RSS of each
// span (a span without a sample shows "-"), and the huge pages at that RSS.
void AppendMemoryOverTime(std::string& out, const TraceAnalysis& a) {
  uint64_t end = a.summary.duration_ns;
  if (end == 0 || (a.heap_timeline.empty() && a.memory_samples.empty())) return;
  bool sampled = !a.memory_samples.empty();  // a run under 110 ms has no sample
  absl::StrAppendFormat(&out, "\n%-16s %12s", "memory over time", "heap");
  out += sampled ? absl::StrFormat(" %12s %12s\n", "RSS", "huge pages") : "\n";
  size_t h = 0, m = 0;
  uint64_t heap = 0;
  for (int row = 0; row < kTimeRows; ++row) {
    // The last span takes the end itself, and what the division left over.
    uint64_t span_end = row + 1 == kTimeRows ? end + 1 : end / kTimeRows * (row + 1);
    uint64_t top_heap = heap;
    for (; h < a.heap_timeline.size() && a.heap_timeline[h].first < span_end; ++h) {
      heap = a.heap_timeline[h].second;
      top_heap = std::max(top_heap, heap);
    }
    const MemorySample* top = nullptr;
    for (; m < a.memory_samples.size() && a.memory_samples[m].time_ns < span_end; ++m) {
      if (top == nullptr || a.memory_samples[m].rss_bytes > top->rss_bytes) top = &a.memory_samples[m];
    }
    absl::StrAppendFormat(&out, "  from %9s %12s", DurationLabel(end / kTimeRows * row),
                          HumanBytes(top_heap));
    if (sampled) {
      absl::StrAppendFormat(&out, " %12s %12s", top != nullptr ? HumanBytes(top->rss_bytes) : "-",
                            top != nullptr ? HumanBytes(top->anon_huge_bytes) : "-");
    }
    out += "\n";
  }
}

// The largest mappings the program made itself, with where they were made.
void AppendMmapRegions(std::string& out, const TraceAnalysis& a, const FrameNamer& name_frame,
                       const TextReportOptions& options) {
  const std::vector<MmapRegion>& regions = a.mmap.largest;
  if (regions.empty()) return;
  absl::StrAppendFormat(&out, "\nlargest mmap regions (outside malloc)\n");
  for (size_t i = 0; i < regions.size() && i < static_cast<size_t>(options.sites_per_table); ++i) {
    const MmapRegion& r = regions[i];
    std::string prot = absl::StrCat((r.prot & 1) ? "r" : "-", (r.prot & 2) ? "w" : "-",
                                    (r.prot & 4) ? "x" : "-");
    std::string until = r.unmapped ? absl::StrFormat("unmapped at %.3f s", r.unmapped_ns / 1e9)
                                   : std::string("still mapped");
    absl::StrAppendFormat(&out, "  %12s  %s %s, mapped at %.3f s, %s\n", HumanBytes(r.length),
                          r.anonymous() ? "anonymous" : absl::StrCat("fd ", r.fd), prot,
                          r.mapped_ns / 1e9, until);
    AppendFrames(out, a, r.stack, name_frame, options);
  }
}

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

std::vector<std::string_view> FrameLines(std::string_view names) {
  std::vector<std::string_view> lines;
  for (size_t end; (end = names.find('\n')) != std::string_view::npos; names.remove_prefix(end + 1)) {
    lines.push_back(names.substr(0, end));
  }
  lines.push_back(names);
  return lines;
}

std::vector<NamedFrame> NamedFrames(const TraceAnalysis& analysis, uint64_t stack,
                                    const FrameNamer& name_frame, int limit, bool* cut) {
  std::vector<uint64_t> addresses = analysis.Frames(stack);
  std::vector<NamedFrame> frames;
  bool left_out = false;
  for (uint64_t address : addresses) {
    if (static_cast<int>(frames.size()) == limit) {
      left_out = true;
      break;
    }
    std::string names = name_frame(address);
    std::vector<std::string_view> lines = FrameLines(names);
    for (size_t i = 0; i < lines.size(); ++i) {
      if (static_cast<int>(frames.size()) == limit) {
        left_out = true;
        break;
      }
      frames.push_back({address, std::string(lines[i]), i + 1 < lines.size()});
    }
  }
  if (cut != nullptr) *cut = left_out;
  return frames;
}

std::string DescribeSite(const TraceAnalysis& analysis, const SiteStats& site,
                         const FrameNamer& name_frame) {
  std::vector<uint64_t> frames = analysis.Frames(site.stack);
  if (frames.empty()) return "an unknown stack";
  return std::string(FrameLines(name_frame(frames.front())).front());
}

std::string FormatTextReport(const TraceAnalysis& a, const std::string& path,
                             const FrameNamer& name_frame, TextReportOptions options) {
  std::string out = FormatSummary(a.summary, path);
  absl::StrAppendFormat(&out, "temporary  %d allocations freed before their thread allocated again\n",
                        a.temporary);
  const MmapStats& m = a.mmap;
  if (m.mmaps + m.mremaps > 0) {
    absl::StrAppendFormat(&out,
                          "mmap       %d maps, %d unmaps, %d remaps outside malloc, peak %s at %.3f s"
                          "\n           %s in %d regions still mapped at the end\n",
                          m.mmaps, m.munmaps, m.mremaps, HumanBytes(m.peak_bytes),
                          m.peak_time_ns / 1e9, HumanBytes(m.live_bytes), m.live_regions);
  }
  AppendThreads(out, a);
  AppendMemoryOverTime(out, a);
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
      AppendFrames(out, a, s->stack, name_frame, options);
    }
  }

  AppendMmapRegions(out, a, name_frame, options);

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

  std::vector<std::string> sizes = rows(a.size_histogram, size_label);
  std::vector<std::string> lifetimes = rows(a.lifetime_histogram, DurationLabel);
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
