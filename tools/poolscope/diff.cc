#include "diff.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "budget.h"

namespace poolscope::analysis {
namespace {

using Key = std::vector<std::string>;

// Adds every site of `a`, keyed by its frames' names, to `out`.
void Collect(const TraceAnalysis& a, const FrameNamer& namer, bool is_new,
             std::map<Key, SiteDiff>& out) {
  absl::flat_hash_map<uint64_t, std::string> names;  // a symbolizer may be slow: once each
  for (const SiteStats& s : a.sites) {
    Key key;
    for (uint64_t address : a.Frames(s.stack)) {
      auto [it, inserted] = names.try_emplace(address);
      if (inserted) it->second = namer(address);
      key.push_back(it->second);
    }
    SiteDiff& d = out[key];
    if (d.frames.empty()) d.frames = key;
    (is_new ? d.in_new : d.in_base) = true;
    DiffFigures& f = is_new ? d.now : d.base;
    f.peak_bytes += s.peak_bytes;
    f.allocations += s.allocations;
    f.leaked_bytes += s.leaked_bytes;
    f.temporary += s.temporary;
  }
}

DiffFigures Totals(const TraceAnalysis& a) {
  DiffFigures f;
  f.peak_bytes = a.summary.peak_bytes;
  f.allocations = a.summary.allocations;
  f.leaked_bytes = a.summary.leaked_bytes;
  f.temporary = a.temporary;
  return f;
}

uint64_t AbsDelta(uint64_t x, uint64_t y) { return x > y ? x - y : y - x; }

bool IsBytes(DiffMetric m) { return m == DiffMetric::kPeak || m == DiffMetric::kLeaked; }

// At most 8 characters: "1023 B", "9.99 KiB", "99.9 MiB", "999 GiB".
std::string CompactBytes(uint64_t n) {
  if (n < 1024) return absl::StrCat(n, " B");
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = n / 1024.0;
  int unit = 0;
  while (v >= 1024 && unit < 5) v /= 1024, ++unit;
  if (v < 9.995) return absl::StrFormat("%.2f %s", v, kUnits[unit]);
  if (v < 99.95) return absl::StrFormat("%.1f %s", v, kUnits[unit]);
  return absl::StrFormat("%.0f %s", v, kUnits[unit]);
}

// At most 7 characters: "999999", "1.23M", "12.3M", "123G".
std::string CompactCount(uint64_t n) {
  if (n < 1000000) return absl::StrCat(n);
  static const char* const kUnits[] = {"M", "G", "T", "P", "E"};
  double v = n / 1e6;
  int unit = 0;
  while (v >= 999.5 && unit < 4) v /= 1000, ++unit;
  if (v < 9.995) return absl::StrFormat("%.2f%s", v, kUnits[unit]);
  if (v < 99.95) return absl::StrFormat("%.1f%s", v, kUnits[unit]);
  return absl::StrFormat("%.0f%s", v, kUnits[unit]);
}

std::string Compact(uint64_t n, bool bytes) { return bytes ? CompactBytes(n) : CompactCount(n); }

std::string CompactDelta(uint64_t base, uint64_t now, bool bytes) {
  if (base == now) return "0";
  return absl::StrCat(now > base ? "+" : "-", Compact(AbsDelta(base, now), bytes));
}

std::string Percent(uint64_t base, uint64_t now) {
  if (base == now) return "";
  if (base == 0) return "(from 0)";
  double pct = (static_cast<double>(now) - static_cast<double>(base)) * 100.0 / base;
  return absl::StrFormat("(%+.1f%%)", pct);
}

std::string Exact(uint64_t n, bool bytes) { return bytes ? HumanBytes(n) : absl::StrCat(n); }

std::string SiteName(const SiteDiff& s) {
  return s.frames.empty() ? "an unknown stack" : s.frames.front();
}

}  // namespace

const char* DiffMetricName(DiffMetric metric) {
  switch (metric) {
    case DiffMetric::kPeak: return "peak";
    case DiffMetric::kLeaked: return "leaked";
    case DiffMetric::kAllocs: return "allocs";
    case DiffMetric::kTemporary: return "temporary";
  }
  return "?";
}

uint64_t DiffFigures::Get(DiffMetric metric) const {
  switch (metric) {
    case DiffMetric::kPeak: return peak_bytes;
    case DiffMetric::kLeaked: return leaked_bytes;
    case DiffMetric::kAllocs: return allocations;
    case DiffMetric::kTemporary: return temporary;
  }
  return 0;
}

TraceDiff DiffTraces(const TraceAnalysis& base, const FrameNamer& base_namer,
                     const TraceAnalysis& now, const FrameNamer& new_namer) {
  std::map<Key, SiteDiff> sites;
  Collect(base, base_namer, /*is_new=*/false, sites);
  Collect(now, new_namer, /*is_new=*/true, sites);
  TraceDiff diff;
  diff.base_total = Totals(base);
  diff.new_total = Totals(now);
  for (auto& [key, site] : sites) {
    const DiffFigures& b = site.base;
    const DiffFigures& n = site.now;
    if (b.peak_bytes == n.peak_bytes && b.allocations == n.allocations &&
        b.leaked_bytes == n.leaked_bytes && b.temporary == n.temporary) {
      ++diff.unchanged_sites;
    }
    diff.sites.push_back(std::move(site));
  }
  auto impact = [](const SiteDiff& s) {
    return std::make_tuple(AbsDelta(s.base.peak_bytes, s.now.peak_bytes),
                           AbsDelta(s.base.allocations, s.now.allocations),
                           AbsDelta(s.base.leaked_bytes, s.now.leaked_bytes),
                           AbsDelta(s.base.temporary, s.now.temporary));
  };
  std::stable_sort(diff.sites.begin(), diff.sites.end(),
                   [&](const SiteDiff& x, const SiteDiff& y) { return impact(x) > impact(y); });
  return diff;
}

namespace {

// Drops the spaces that padding leaves at the ends of lines.
std::string TrimLines(const std::string& text) {
  std::string out;
  for (size_t start = 0, end; start < text.size(); start = end + 1) {
    end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    line.erase(line.find_last_not_of(' ') + 1);
    out += line;
    if (end < text.size()) out += '\n';
  }
  return out;
}

std::string FormatDiffLines(const TraceDiff& d, const std::string& base_path,
                            const std::string& new_path, const DiffTextOptions& options) {
  std::string out;
  absl::StrAppendFormat(&out, "base  %s\nnew   %s\n\n", base_path, new_path);
  absl::StrAppendFormat(&out, "%-14s %11s %11s %11s\n", "totals", "base", "new", "delta");
  struct Row {
    const char* label;
    DiffMetric metric;
  };
  for (Row row : {Row{"peak heap", DiffMetric::kPeak}, Row{"allocations", DiffMetric::kAllocs},
                  Row{"leaked", DiffMetric::kLeaked}, Row{"temporary", DiffMetric::kTemporary}}) {
    uint64_t b = d.base_total.Get(row.metric), n = d.new_total.Get(row.metric);
    bool bytes = IsBytes(row.metric);
    absl::StrAppendFormat(&out, "  %-12s %11s %11s %11s  %s\n", row.label, Compact(b, bytes),
                          Compact(n, bytes), CompactDelta(b, n, bytes), Percent(b, n));
  }

  std::vector<const SiteDiff*> changed;
  int added = 0, gone = 0;
  for (const SiteDiff& s : d.sites) {
    if (s.base.peak_bytes == s.now.peak_bytes && s.base.allocations == s.now.allocations &&
        s.base.leaked_bytes == s.now.leaked_bytes && s.base.temporary == s.now.temporary) {
      continue;
    }
    changed.push_back(&s);
    added += !s.in_base;
    gone += !s.in_new;
  }
  absl::StrAppendFormat(&out, "\nsites by impact: %d changed (%d only in new, %d only in base), "
                        "%d unchanged\n", changed.size(), added, gone, d.unchanged_sites);
  if (changed.empty()) return out;
  // Nine columns of 10 characters: base, new and delta of three metrics.
  absl::StrAppendFormat(&out, "  %-30s%-30s%-30s\n", "   peak held", "   allocations",
                        "   leaked");
  absl::StrAppendFormat(&out, "  %10s%10s%10s%10s%10s%10s%10s%10s%10s\n", "base", "new",
                        "delta", "base", "new", "delta", "base", "new", "delta");
  int shown = 0;
  for (const SiteDiff* s : changed) {
    if (shown++ == options.max_sites) {
      absl::StrAppendFormat(&out, "  ... and %d more changed sites\n",
                            changed.size() - options.max_sites);
      break;
    }
    out += "  ";
    for (DiffMetric m : {DiffMetric::kPeak, DiffMetric::kAllocs, DiffMetric::kLeaked}) {
      uint64_t b = s->base.Get(m), n = s->now.Get(m);
      absl::StrAppendFormat(&out, "%10s%10s%10s", Compact(b, IsBytes(m)), Compact(n, IsBytes(m)),
                            CompactDelta(b, n, IsBytes(m)));
    }
    out += !s->in_base ? "  new\n" : !s->in_new ? "  gone\n" : "\n";
    if (s->frames.empty()) out += "      at an unknown stack\n";
    for (int f = 0; f < static_cast<int>(s->frames.size()) && f < options.frames_per_site; ++f) {
      std::string name = s->frames[f];
      if (name.size() > 90) name = name.substr(0, 87) + "...";
      absl::StrAppendFormat(&out, "      %s %s\n", f == 0 ? "at" : "by", name);
    }
  }
  return out;
}

}  // namespace

std::string FormatDiff(const TraceDiff& diff, const std::string& base_path,
                       const std::string& new_path, DiffTextOptions options) {
  return TrimLines(FormatDiffLines(diff, base_path, new_path, options));
}

absl::StatusOr<FailOn> ParseFailOn(const std::string& spec) {
  auto malformed = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--fail-on '", spec, "': ", why, " (expected METRIC:+N% or METRIC:+AMOUNT, e.g. "
        "peak:+10%, leaked:+1MiB, allocs:+1000)"));
  };
  size_t colon = spec.find(':');
  if (colon == std::string::npos) return malformed("no ':'");
  FailOn f;
  f.spec = spec;
  std::string metric(absl::StripAsciiWhitespace(spec.substr(0, colon)));
  if (metric == "peak") {
    f.metric = DiffMetric::kPeak;
  } else if (metric == "leaked") {
    f.metric = DiffMetric::kLeaked;
  } else if (metric == "allocs") {
    f.metric = DiffMetric::kAllocs;
  } else if (metric == "temporary") {
    f.metric = DiffMetric::kTemporary;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--fail-on '", spec, "': unknown metric '", metric,
        "' (one of peak, leaked, allocs, temporary)"));
  }
  std::string value(absl::StripAsciiWhitespace(spec.substr(colon + 1)));
  if (!value.empty() && value[0] == '+') value = value.substr(1);
  if (value.empty() || !(absl::ascii_isdigit(value[0]) || value[0] == '.')) {
    return malformed(absl::StrCat("'", spec.substr(colon + 1), "' is not a growth"));
  }
  if (value.back() == '%') {
    std::string number = value.substr(0, value.size() - 1);
    double pct;
    if (number.find_first_not_of("0123456789.") != std::string::npos ||
        !absl::SimpleAtod(number, &pct) || !std::isfinite(pct)) {
      return malformed(absl::StrCat("'", number, "' is not a percentage"));
    }
    f.percent = true;
    f.percent_limit = pct;
    return f;
  }
  auto amount = IsBytes(f.metric) ? ParseSize(value) : ParseCount(value);
  if (!amount.ok()) return malformed(std::string(amount.status().message()));
  f.limit = *amount;
  return f;
}

FailOnResult CheckFailOn(const TraceDiff& d, const FailOn& f) {
  uint64_t base = d.base_total.Get(f.metric), now = d.new_total.Get(f.metric);
  bool bytes = IsBytes(f.metric);
  uint64_t growth = now > base ? now - base : 0;
  FailOnResult r;
  if (f.percent) {
    r.exceeded = growth > 0 && (base == 0 || growth * 100.0 / base > f.percent_limit);
  } else {
    r.exceeded = growth > f.limit;
  }
  std::string change = base == now ? "unchanged"
                                   : absl::StrCat(now > base ? "+" : "-",
                                                  Exact(AbsDelta(base, now), bytes), " ",
                                                  Percent(base, now));
  std::string what =
      absl::StrFormat("%s -> %s, %s", Exact(base, bytes), Exact(now, bytes), change);
  if (!r.exceeded) {
    r.line = absl::StrFormat("%s ok: %s, within %s", DiffMetricName(f.metric), what, f.spec);
    return r;
  }
  // The site that grew most in this metric.
  const SiteDiff* top = nullptr;
  uint64_t top_growth = 0;
  for (const SiteDiff& s : d.sites) {
    uint64_t b = s.base.Get(f.metric), n = s.now.Get(f.metric);
    if (n > b && n - b > top_growth) top = &s, top_growth = n - b;
  }
  r.line = absl::StrFormat("%s exceeded: %s, over %s; most from %s", DiffMetricName(f.metric),
                           what, f.spec,
                           top ? absl::StrCat(SiteName(*top), " (+", Exact(top_growth, bytes), ")")
                               : "no single site");
  return r;
}

}  // namespace poolscope::analysis
