#include "report_html.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "report_json.h"

namespace poolscope::analysis {
namespace {

std::string ShortDuration(uint64_t ns) {
  if (ns < 1000) return absl::StrCat(ns, " ns");
  if (ns < 1000000) return absl::StrFormat("%.3g µs", ns / 1e3);
  if (ns < 1000000000) return absl::StrFormat("%.3g ms", ns / 1e6);
  return absl::StrFormat("%.3g s", ns / 1e9);
}

// Power-of-two bytes as "512", "4K", "2M".
std::string ShortBytes(uint64_t n) {
  const char* units[] = {"", "K", "M", "G", "T", "P", "E"};
  int u = 0;
  while (n >= 1024 && n % 1024 == 0 && u < 6) n /= 1024, ++u;
  return absl::StrCat(n, units[u]);
}

// JSON made safe inside <script>: '<', '>' and '&' only occur in strings, as \u escapes.
std::string ScriptSafe(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else {
      out += c;
    }
  }
  return out;
}

// ---- The summary.

void Row(std::string& out, const std::string& key, const std::string& value) {
  absl::StrAppend(&out, "<tr><th>", HtmlEscape(key), "</th><td>", HtmlEscape(value),
                  "</td></tr>\n");
}

void WriteSummary(std::string& out, const TraceAnalysis& a, const std::string& path) {
  const TraceSummary& s = a.summary;
  out += "<section id=\"summary\"><h2>Summary</h2>\n<table class=\"summary\">\n";
  Row(out, "trace", path);
  Row(out, "process", absl::StrCat(s.executable, " (pid ", s.pid, ")"));
  Row(out, "engine", s.engine.empty() ? "?" : s.engine);
  if (s.sample_bytes != 0) {
    Row(out, "sampled", absl::StrCat("every ", HumanBytes(s.sample_bytes), " (figures estimated)"));
  }
  Row(out, "calls", absl::StrCat(s.allocations, " allocations, ", s.frees, " frees, ",
                                 s.reallocations, " reallocations"));
  Row(out, "allocated", HumanBytes(s.allocated_bytes));
  Row(out, "peak heap",
      absl::StrCat(HumanBytes(s.peak_bytes), " at ", ShortDuration(s.peak_time_ns)));
  if (s.peak_rss_bytes != 0) {
    Row(out, "peak RSS",
        absl::StrCat(HumanBytes(s.peak_rss_bytes), " at ", ShortDuration(s.peak_rss_time_ns), ", ",
                     HumanBytes(s.peak_rss_huge_bytes), " of it in huge pages"));
  }
  const MmapStats& m = a.mmap;
  if (m.mmaps + m.mremaps != 0) {
    Row(out, "mmap",
        absl::StrCat(m.mmaps, " maps, ", m.munmaps, " unmaps, ", m.mremaps,
                     " remaps outside malloc; peak ", HumanBytes(m.peak_bytes), " at ",
                     ShortDuration(m.peak_time_ns), "; ", HumanBytes(m.live_bytes), " in ",
                     m.live_regions, " regions still mapped at the end"));
  }
  Row(out, "leaked", absl::StrCat(HumanBytes(s.leaked_bytes), " in ", s.leaked_blocks, " blocks"));
  Row(out, "temporary",
      absl::StrCat(a.temporary, " allocations freed before their thread allocated again"));
  Row(out, "threads", absl::StrCat(s.threads));
  Row(out, "runtime", ShortDuration(s.duration_ns));
  Row(out, "exit status", s.ended ? absl::StrCat(s.exit_status) : "the trace has no end record");
  if (s.read.truncated) Row(out, "TRUNCATED", "the trace ends early; figures run to its end");
  if (s.read.corrupt_frames != 0) {
    Row(out, "CORRUPT", absl::StrCat(s.read.corrupt_frames, " frames skipped (",
                                     s.read.skipped_bytes, " bytes)"));
  }
  out += "</table></section>\n";
}

// ---- SVG charts.

constexpr int kChartWidth = 900, kChartHeight = 260;
constexpr int kLeft = 80, kRight = 20, kTop = 20, kBottom = 40;

void WriteHeapChart(std::string& out, const TraceAnalysis& a) {
  const TraceSummary& s = a.summary;
  uint64_t end = s.duration_ns, top = s.peak_bytes;
  for (const auto& [t, bytes] : a.heap_timeline) end = std::max(end, t), top = std::max(top, bytes);
  for (const MemorySample& m : a.memory_samples) {
    end = std::max(end, m.time_ns);
    top = std::max(top, m.rss_bytes);
  }
  if (end == 0) end = 1;
  if (top == 0) top = 1;
  const double w = kChartWidth - kLeft - kRight, h = kChartHeight - kTop - kBottom;
  auto x = [&](uint64_t t) { return kLeft + w * static_cast<double>(t) / end; };
  auto y = [&](uint64_t b) { return kTop + h - h * static_cast<double>(b) / top; };
  absl::StrAppendFormat(&out,
                        "<svg id=\"heap-chart\" class=\"chart\" width=\"%d\" height=\"%d\" "
                        "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"heap over time\">\n",
                        kChartWidth, kChartHeight, kChartWidth, kChartHeight);
  // Axes, with the top and the end labelled, and grid lines at quarters.
  for (int q = 0; q <= 4; ++q) {
    double gy = kTop + h * q / 4;
    absl::StrAppendFormat(&out,
                          "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                          "<text class=\"axis\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                          kLeft, gy, kLeft + w, gy, kLeft - 6, gy + 4,
                          HtmlEscape(HumanBytes(top - top * q / 4)));
  }
  for (int q = 0; q <= 4; ++q) {
    absl::StrAppendFormat(&out,
                          "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s"
                          "</text>\n",
                          kLeft + w * q / 4, kTop + h + 18, HtmlEscape(ShortDuration(end * q / 4)));
  }
  for (const PhaseMark& m : a.phase_marks) {
    absl::StrAppendFormat(&out,
                          "<line class=\"phase\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\">"
                          "<title>%s at %s</title></line>\n",
                          x(m.time_ns), kTop, x(m.time_ns), kTop + h, HtmlEscape(m.name),
                          HtmlEscape(ShortDuration(m.time_ns)));
  }
  auto polyline = [&](const char* cls, const std::vector<std::pair<uint64_t, uint64_t>>& pts,
                      const char* title) {
    if (pts.empty()) return;
    absl::StrAppendFormat(&out, "<polyline class=\"%s\" points=\"", cls);
    // Start from zero at the first point's time so the area reads from the axis.
    absl::StrAppendFormat(&out, "%.1f,%.1f", x(pts.front().first), y(0));
    for (const auto& [t, b] : pts) absl::StrAppendFormat(&out, " %.1f,%.1f", x(t), y(b));
    absl::StrAppendFormat(&out, "\"><title>%s</title></polyline>\n", title);
  };
  polyline("heap-line", a.heap_timeline, "live heap bytes");
  if (!a.memory_samples.empty()) {
    std::vector<std::pair<uint64_t, uint64_t>> rss;
    for (const MemorySample& m : a.memory_samples) rss.emplace_back(m.time_ns, m.rss_bytes);
    polyline("rss-line", rss, "resident set size (RSS)");
    std::vector<std::pair<uint64_t, uint64_t>> huge;
    for (const MemorySample& m : a.memory_samples) huge.emplace_back(m.time_ns, m.anon_huge_bytes);
    polyline("huge-line", huge, "of it in transparent huge pages (AnonHugePages)");
  }
  if (s.peak_bytes != 0) {
    absl::StrAppendFormat(&out,
                          "<circle class=\"peak\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\">"
                          "<title>peak heap %s at %s</title></circle>\n",
                          x(s.peak_time_ns), y(s.peak_bytes), HtmlEscape(HumanBytes(s.peak_bytes)),
                          HtmlEscape(ShortDuration(s.peak_time_ns)));
  }
  if (a.heap_timeline.empty()) {
    absl::StrAppendFormat(&out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no heap "
                          "activity recorded</text>\n", kLeft + w / 2, kTop + h / 2);
  }
  // The legend.
  absl::StrAppendFormat(&out,
                        "<text class=\"legend heap-legend\" x=\"%.1f\" y=\"14\" "
                        "text-anchor=\"end\">— heap</text>\n",
                        kLeft + w - (a.memory_samples.empty() ? 0 : 170));
  if (!a.memory_samples.empty()) {
    absl::StrAppendFormat(&out,
                          "<text class=\"legend rss-legend\" x=\"%.1f\" y=\"14\" "
                          "text-anchor=\"end\">— RSS</text>"
                          "<text class=\"legend huge-legend\" x=\"%.1f\" y=\"14\" "
                          "text-anchor=\"end\">— huge pages</text>\n",
                          kLeft + w - 100, kLeft + w);
  }
  out += "</svg>\n";
}

void WriteHistogram(std::string& out, const char* id, const std::vector<HistogramBucket>& buckets,
                    bool sizes) {
  int first = -1, last = -1;
  uint64_t most = 0;
  for (int k = 0; k < static_cast<int>(buckets.size()); ++k) {
    if (buckets[k].blocks == 0) continue;
    if (first < 0) first = k;
    last = k;
    most = std::max(most, buckets[k].blocks);
  }
  constexpr int kWidth = 440, kHeight = 240, kL = 60, kR = 10, kT = 15, kB = 45;
  absl::StrAppendFormat(&out,
                        "<svg id=\"%s\" class=\"chart histogram\" width=\"%d\" height=\"%d\" "
                        "viewBox=\"0 0 %d %d\" role=\"img\">\n",
                        id, kWidth, kHeight, kWidth, kHeight);
  const double w = kWidth - kL - kR, h = kHeight - kT - kB;
  absl::StrAppendFormat(&out, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                        kL, kT + h, kL + w, kT + h);
  if (first < 0) {
    absl::StrAppendFormat(&out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no blocks"
                          "</text>\n</svg>\n", kL + w / 2, kT + h / 2);
    return;
  }
  absl::StrAppendFormat(&out,
                        "<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%d</text>\n"
                        "<text class=\"axis\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">0</text>\n",
                        kL - 6, kT + 4, most, kL - 6, kT + h + 4);
  const int n = last - first + 1;
  const double bar = w / n;
  const int label_every = std::max(1, n / 8);
  auto label = [&](int k) {
    return sizes ? ShortBytes(BucketLow(k)) : ShortDuration(BucketLow(k));
  };
  for (int k = first; k <= last; ++k) {
    const HistogramBucket& b = buckets[k];
    double bh = h * static_cast<double>(b.blocks) / most;
    double bx = kL + bar * (k - first);
    std::string range = sizes ? absl::StrCat(BucketLow(k), "–", BucketHigh(k), " bytes")
                              : absl::StrCat(ShortDuration(BucketLow(k)), " – ",
                                             ShortDuration(BucketHigh(k)));
    absl::StrAppendFormat(&out,
                          "<rect class=\"bar\" data-min=\"%d\" data-max=\"%d\" data-blocks=\"%d\" "
                          "x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
                          "<title>%s: %d blocks, %s</title></rect>\n",
                          BucketLow(k), BucketHigh(k), b.blocks, bx + 1, kT + h - bh,
                          std::max(bar - 2, 1.0), bh, HtmlEscape(range), b.blocks,
                          HtmlEscape(HumanBytes(b.bytes)));
    if ((k - first) % label_every == 0) {
      absl::StrAppendFormat(&out,
                            "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s"
                            "</text>\n",
                            bx + bar / 2, kT + h + 16, HtmlEscape(label(k)));
    }
  }
  absl::StrAppendFormat(&out,
                        "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s"
                        "</text>\n</svg>\n",
                        kL + w / 2, kT + h + 36,
                        sizes ? "requested size (bytes, bucket lower bound)"
                              : "lifetime (allocation to free)");
}

// ---- The top-sites tables.

struct Table {
  const char* id;
  const char* title;
  uint64_t SiteStats::*metric;
  bool bytes;
};

constexpr Table kTables[] = {
    {"sites-peak", "Sites holding the peak heap", &SiteStats::peak_bytes, true},
    {"sites-allocs", "Sites allocating most often", &SiteStats::allocations, false},
    {"sites-leaked", "Sites leaking most", &SiteStats::leaked_bytes, true},
    {"sites-temporary", "Sites with the most temporary allocations", &SiteStats::temporary, false},
};

// A table cell with the stack, innermost frame first.
std::string StackCell(const TraceAnalysis& a, uint64_t stack, const FrameNamer& name_frame,
                      const HtmlReportOptions& options) {
  bool cut = false;
  std::vector<std::string> names;
  for (const NamedFrame& f : NamedFrames(a, stack, name_frame, options.frames_per_site, &cut)) {
    names.push_back(HtmlEscape(f.name));
  }
  if (cut) names.push_back("…");
  if (names.empty()) names.push_back("an unknown stack");
  return absl::StrCat("<td class=\"stack\"><code>", absl::StrJoin(names, "</code><br><code>"),
                      "</code></td>");
}

// The largest mappings the program made itself, and the threads.
void WriteMmapAndThreads(std::string& out, const TraceAnalysis& a, const FrameNamer& name_frame,
                         const HtmlReportOptions& options) {
  out += "<section id=\"mmap\"><h2>Largest mmap regions (outside malloc)</h2>\n";
  if (a.mmap.largest.empty()) {
    out += "<p class=\"none\">none</p>\n";
  } else {
    out += "<table id=\"mmap-regions\" class=\"sites\"><thead><tr><th>bytes</th><th>kind</th>"
           "<th>mapped at</th><th>unmapped at</th><th>stack (innermost first)</th></tr></thead>"
           "<tbody>\n";
    for (const MmapRegion& r : a.mmap.largest) {
      absl::StrAppendFormat(
          &out, "<tr><td class=\"num\">%s</td><td>%s, prot %d</td><td class=\"num\">%s</td>"
                "<td class=\"num\">%s</td>%s</tr>\n",
          HtmlEscape(HumanBytes(r.length)),
          r.anonymous() ? "anonymous" : absl::StrCat("fd ", r.fd), r.prot,
          HtmlEscape(ShortDuration(r.mapped_ns)),
          r.unmapped ? HtmlEscape(ShortDuration(r.unmapped_ns)) : "still mapped",
          StackCell(a, r.stack, name_frame, options));
    }
    out += "</tbody></table>\n";
  }
  out += "</section>\n<section id=\"threads\"><h2>Threads</h2>\n"
         "<table id=\"thread-table\" class=\"sites\"><thead><tr><th>thread</th><th>tid</th>"
         "<th>allocations</th><th>allocated</th><th>frees</th><th>temporary</th></tr></thead>"
         "<tbody>\n";
  for (const ThreadStats& t : a.threads) {
    absl::StrAppendFormat(&out,
                          "<tr><td class=\"num\">%d</td><td class=\"num\">%d</td>"
                          "<td class=\"num\">%d</td><td class=\"num\">%s</td>"
                          "<td class=\"num\">%d</td><td class=\"num\">%d</td></tr>\n",
                          t.thread, t.kernel_tid, t.allocations,
                          HtmlEscape(HumanBytes(t.allocated_bytes)), t.frees, t.temporary);
  }
  out += "</tbody></table></section>\n";
}

void WriteTables(std::string& out, const TraceAnalysis& a, const FrameNamer& name_frame,
                 const HtmlReportOptions& options) {
  out += "<section id=\"sites\"><h2>Top sites</h2>\n";
  for (const Table& table : kTables) {
    std::vector<const SiteStats*> sites;
    for (const SiteStats& s : a.sites) {
      if (s.*(table.metric) > 0) sites.push_back(&s);
    }
    std::sort(sites.begin(), sites.end(), [&](const SiteStats* x, const SiteStats* y) {
      return x->*(table.metric) != y->*(table.metric) ? x->*(table.metric) > y->*(table.metric)
                                                      : x->stack < y->stack;
    });
    absl::StrAppendFormat(&out, "<h3>%s (%d sites)</h3>\n", table.title, sites.size());
    if (sites.empty()) {
      out += "<p class=\"none\">none</p>\n";
      continue;
    }
    absl::StrAppendFormat(&out,
                          "<table id=\"%s\" class=\"sites\"><thead><tr><th>#</th><th>%s</th>"
                          "<th>allocations</th><th>allocated</th><th>peak</th><th>leaked</th>"
                          "<th>temporary</th><th>stack (innermost first)</th></tr></thead>"
                          "<tbody>\n",
                          table.id, table.bytes ? "bytes" : "count");
    int rank = 0;
    for (const SiteStats* s : sites) {
      if (rank++ == options.sites_per_table) break;
      uint64_t figure = s->*(table.metric);
      absl::StrAppendFormat(
          &out,
          "<tr><td>%d</td><td class=\"num\">%s</td><td class=\"num\">%d</td>"
          "<td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td>"
          "<td class=\"num\">%d</td>%s</tr>\n",
          rank, table.bytes ? HtmlEscape(HumanBytes(figure)) : absl::StrCat(figure),
          s->allocations, HtmlEscape(HumanBytes(s->allocated_bytes)),
          HtmlEscape(HumanBytes(s->peak_bytes)), HtmlEscape(HumanBytes(s->leaked_bytes)),
          s->temporary, StackCell(a, s->stack, name_frame, options));
    }
    out += "</tbody></table>\n";
  }
  out += "</section>\n";
}

// ---- The flame graph's data: stacks merged by frame name, outermost first.

struct FlameNode {
  std::string name;
  uint64_t values[3] = {0, 0, 0};  // peak bytes, allocations, leaked bytes
  absl::flat_hash_map<std::string, size_t> index;
  std::vector<size_t> children;
};

void WriteFlameNode(std::string& out, const std::vector<FlameNode>& nodes, size_t i) {
  const FlameNode& n = nodes[i];
  absl::StrAppend(&out, "{\"n\":", JsonQuote(n.name), ",\"v\":[", n.values[0], ",", n.values[1],
                  ",", n.values[2], "]");
  if (!n.children.empty()) {
    std::vector<size_t> order = n.children;
    std::sort(order.begin(), order.end(),
              [&](size_t x, size_t y) { return nodes[x].name < nodes[y].name; });
    out += ",\"c\":[";
    for (size_t k = 0; k < order.size(); ++k) {
      if (k) out += ',';
      WriteFlameNode(out, nodes, order[k]);
    }
    out += ']';
  }
  out += '}';
}

std::string FlameJson(const TraceAnalysis& a, const FrameNamer& name_frame,
                      const HtmlReportOptions& options) {
  absl::flat_hash_map<uint64_t, std::string> names;
  auto name_of = [&](uint64_t address) -> const std::string& {
    auto [it, inserted] = names.try_emplace(address);
    if (inserted) it->second = name_frame(address);
    return it->second;
  };
  std::vector<FlameNode> nodes(1);
  nodes[0].name = "all";
  auto child = [&](size_t parent, const std::string& name) {
    auto it = nodes[parent].index.find(name);
    if (it != nodes[parent].index.end()) return it->second;
    size_t i = nodes.size();
    nodes[parent].index.emplace(name, i);
    nodes[parent].children.push_back(i);
    nodes.emplace_back();
    nodes[i].name = name;
    return i;
  };
  for (const SiteStats& s : a.sites) {
    uint64_t v[3] = {s.peak_bytes, s.allocations, s.leaked_bytes};
    if (v[0] == 0 && v[1] == 0 && v[2] == 0) continue;
    std::vector<size_t> path = {0};
    std::vector<uint64_t> frames = a.Frames(s.stack);
    if (frames.empty()) {
      path.push_back(child(0, "[unknown stack]"));
    } else {
      size_t keep = std::min<size_t>(frames.size(), std::max(options.flame_depth, 1));
      if (keep < frames.size()) path.push_back(child(0, "[deeper frames cut]"));
      for (size_t f = keep; f-- > 0;) {
        std::vector<std::string_view> inlined = FrameLines(name_of(frames[f]));
        for (auto line = inlined.rbegin(); line != inlined.rend(); ++line) {
          path.push_back(child(path.back(), std::string(*line)));
        }
      }
    }
    for (size_t i : path) {
      for (int m = 0; m < 3; ++m) nodes[i].values[m] += v[m];
    }
  }
  std::string out;
  WriteFlameNode(out, nodes, 0);
  return out;
}

constexpr char kStyle[] = R"CSS(
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 1280px; }
h1 { font-size: 1.4em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; }
td, th { padding: 2px 8px; text-align: left; vertical-align: top; }
table.sites td.num { text-align: right; white-space: nowrap; }
table.sites tbody tr:nth-child(odd) { background: #f4f4f4; }
table.sites code { font-size: 12px; }
svg.chart { background: #fcfcfc; border: 1px solid #ddd; margin: 4px; }
svg .grid { stroke: #ddd; }
svg .axis, svg .legend { font-size: 11px; fill: #555; }
svg .heap-line { fill: none; stroke: #d9480f; stroke-width: 1.5; }
svg .rss-line { fill: none; stroke: #1c7ed6; stroke-width: 1.2; }
svg .huge-line { fill: none; stroke: #2b8a3e; stroke-width: 1.2; stroke-dasharray: 4 2; }
svg .heap-legend { fill: #d9480f; } svg .rss-legend { fill: #1c7ed6; }
svg .huge-legend { fill: #2b8a3e; }
svg .peak { fill: #d9480f; } svg .phase { stroke: #999; stroke-dasharray: 3 3; }
svg .bar { fill: #4c6ef5; } svg .bar:hover { fill: #d9480f; }
#report-errors:empty { display: none; }
#report-errors { background: #ffe3e3; border: 1px solid #c92a2a; padding: 6px; white-space: pre-wrap; }
#fg-controls button { margin-right: 4px; }
#fg-controls button.active { font-weight: bold; background: #ffd8a8; }
#fg-details { min-height: 1.4em; font-family: monospace; margin: 4px 0; }
#flamegraph { position: relative; width: 100%; overflow: hidden; border: 1px solid #ddd; }
.fg-node { position: absolute; height: 17px; box-sizing: border-box; border: 1px solid #fff;
  font: 11px/15px monospace; overflow: hidden; white-space: nowrap; cursor: pointer;
  padding-left: 2px; }
.fg-node:hover { border-color: #222; }
.fg-node.fg-ancestor { opacity: 0.6; }
)CSS";

// Installed first, so that any later script error is shown (and tests can see it).
constexpr char kErrorHook[] = R"JS(
window.onerror = function (message, source, line, column) {
  var box = document.getElementById('report-errors');
  var text = 'script error: ' + message + ' (line ' + line + ':' + column + ')\n';
  if (box) box.textContent += text; else (window.reportErrors = window.reportErrors || []).push(text);
};
)JS";

constexpr char kFlameScript[] = R"JS(
(function () {
  'use strict';
  var errors = document.getElementById('report-errors');
  (window.reportErrors || []).forEach(function (t) { errors.textContent += t; });
  var root = JSON.parse(document.getElementById('fg-data').textContent);
  var MODES = { peak: 0, allocs: 1, leaks: 2 };
  var LABELS = { peak: 'bytes held at the peak', allocs: 'allocations', leaks: 'bytes leaked' };
  var ROW = 18, MIN_FRACTION = 1e-4;
  var graph = document.getElementById('flamegraph');
  var details = document.getElementById('fg-details');
  var state = { mode: 'peak', zoom: [root] };  // zoom: the path from the root to the focus

  function bytes(v) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'], i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : String(v)) + ' ' + units[i];
  }
  function figure(v) {
    return state.mode === 'allocs' ? v + (v === 1 ? ' allocation' : ' allocations') : bytes(v);
  }
  function hue(name) {
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) % 360;
    return 'hsl(' + (10 + h % 45) + ',80%,' + (58 + h % 15) + '%)';
  }
  function color(name) {
    return name === 'all' ? '#ced4da' : hue(name);
  }
  function addNode(node, path, depth, left, width, total, m, ancestor) {
    var div = document.createElement('div');
    div.className = ancestor ? 'fg-node fg-ancestor' : 'fg-node';
    div.setAttribute('data-name', node.n);
    div.setAttribute('data-value', String(node.v[m]));
    div.style.left = (left * 100) + '%';
    div.style.width = (width * 100) + '%';
    div.style.top = (depth * ROW) + 'px';
    div.style.background = color(node.n);
    var pct = total ? (100 * node.v[m] / total).toFixed(2) : '0';
    div.title = node.n + '\n' + figure(node.v[m]) + ' (' + pct + '%)';
    div.textContent = node.n;
    div.fgInfo = node.n + ' — ' + figure(node.v[m]) + ' (' + pct + '% of the view)';
    div.addEventListener('click', function () { state.zoom = path; render(); });
    graph.appendChild(div);
    return depth;
  }
  function layout(node, path, depth, left, width, total, m) {
    var deepest = addNode(node, path, depth, left, width, total, m, false);
    if (!node.c || !node.v[m]) return deepest;
    var x = left;
    for (var i = 0; i < node.c.length; i++) {
      var c = node.c[i];
      if (!c.v[m]) continue;
      var w = width * c.v[m] / node.v[m];
      if (w >= MIN_FRACTION) {
        deepest = Math.max(deepest, layout(c, path.concat([c]), depth + 1, x, w, total, m));
      }
      x += w;
    }
    return deepest;
  }
  function render() {
    var m = MODES[state.mode];
    graph.textContent = '';
    graph.setAttribute('data-mode', state.mode);
    var buttons = document.querySelectorAll('#fg-controls button[data-mode]');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].classList.toggle('active', buttons[i].getAttribute('data-mode') === state.mode);
    }
    var focus = state.zoom[state.zoom.length - 1];
    if (!focus.v[m]) { state.zoom = [root]; focus = root; }
    if (!root.v[m]) {
      graph.style.height = 'auto';
      var p = document.createElement('p');
      p.className = 'fg-empty';
      p.textContent = 'Nothing to show: no ' + LABELS[state.mode] + ' in this trace.';
      graph.appendChild(p);
      details.textContent = '';
      return;
    }
    for (var a = 0; a < state.zoom.length - 1; a++) {
      addNode(state.zoom[a], state.zoom.slice(0, a + 1), a, 0, 1, focus.v[m], m, true);
    }
    var deepest = layout(focus, state.zoom, state.zoom.length - 1, 0, 1, focus.v[m], m);
    graph.style.height = ((deepest + 1) * ROW + 2) + 'px';
    details.textContent = 'Showing ' + LABELS[state.mode] + ': ' + figure(focus.v[m]) +
        (state.zoom.length > 1 ? ' under ' + focus.n + ' (click "all" to zoom out)' : '') +
        '. Click a frame to zoom; hover for its value.';
  }
  graph.addEventListener('mouseover', function (e) {
    if (e.target.fgInfo) details.textContent = e.target.fgInfo;
  });
  var buttons = document.querySelectorAll('#fg-controls button[data-mode]');
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener('click', function () {
      state.mode = this.getAttribute('data-mode');
      state.zoom = [root];
      render();
    });
  }
  function fromHash() {
    var match = /(?:^#|&)mode=(peak|allocs|leaks)(?:&|$)/.exec(window.location.hash);
    if (match) { state.mode = match[1]; state.zoom = [root]; }
  }
  window.addEventListener('hashchange', function () { fromHash(); render(); });
  fromHash();
  render();
  document.body.setAttribute('data-rendered', 'yes');
})();
)JS";

}  // namespace

std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string FormatHtmlReport(const TraceAnalysis& a, const std::string& path,
                             const FrameNamer& name_frame, HtmlReportOptions options) {
  std::string out;
  out.reserve(1 << 16);
  std::string base = path.substr(path.find_last_of('/') == std::string::npos
                                     ? 0
                                     : path.find_last_of('/') + 1);
  absl::StrAppend(&out,
                  "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"generator\" content=\"poolscope\">\n<title>poolscope report: ",
                  HtmlEscape(base), "</title>\n<script>", kErrorHook, "</script>\n<style>",
                  kStyle, "</style>\n</head>\n<body>\n<div id=\"report-errors\"></div>\n",
                  "<h1>poolscope report: ", HtmlEscape(a.summary.executable), "</h1>\n");
  WriteSummary(out, a, path);

  out += "<section id=\"charts\"><h2>Heap over time</h2>\n";
  WriteHeapChart(out, a);
  out += "<h2>Size and lifetime histograms (blocks)</h2>\n";
  WriteHistogram(out, "size-histogram", a.size_histogram, /*sizes=*/true);
  WriteHistogram(out, "lifetime-histogram", a.lifetime_histogram, /*sizes=*/false);
  out += "</section>\n";

  out += "<section id=\"flame\"><h2>Flame graph</h2>\n<div id=\"fg-controls\">"
         "<button type=\"button\" data-mode=\"peak\">Peak (bytes held at the peak)</button>"
         "<button type=\"button\" data-mode=\"allocs\">Allocations (count)</button>"
         "<button type=\"button\" data-mode=\"leaks\">Leaks (bytes leaked)</button></div>\n"
         "<div id=\"fg-details\"></div>\n<div id=\"flamegraph\"></div>\n"
         "<noscript>The flame graph needs JavaScript.</noscript>\n"
         "<script type=\"application/json\" id=\"fg-data\">";
  out += ScriptSafe(FlameJson(a, name_frame, options));
  out += "</script>\n</section>\n";

  WriteTables(out, a, name_frame, options);
  WriteMmapAndThreads(out, a, name_frame, options);

  absl::StrAppend(&out, "<script>", kFlameScript, "</script>\n</body>\n</html>\n");
  return out;
}

}  // namespace poolscope::analysis
