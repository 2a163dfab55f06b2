// `report --format html` on a hand-built trace: one self-contained page with the three SVG
// charts, the flame graph's embedded data, the top-sites tables, names escaped and no external
// reference. (The CLI test renders a real report in headless Chromium.)
#include <string>

#include "gtest/gtest.h"
#include "poolscope/trace_format.h"
#include "report_html.h"
#include "report_text.h"
#include "summary.h"
#include "trace_builder.h"

namespace poolscope::analysis {
namespace {

namespace tf = trace_format;
using testutil::TraceBuilder;

// /bin/prog at 0x10000, libc at 0x7f0000. Stack 1 = main (prog+0x100), 2 = main->load
// (prog+0x200), 3 = main->libc+0x10, 4 = main->load->0x999999.
//   Peak 350 B at 4000 ns: load 300 B + libc 50 B. Leaked: 20 B (stack 4) + 60 B (the libc
//   block reallocated, stack 3) = 80 B. RSS sampled at 1 MiB and 2 MiB.
void WriteScenario(TraceBuilder& b) {
  b.Frame(0, [](tf::FrameEncoder& e) {
    testutil::PutProgram(e, 77, 1000);
    e.PutModuleLoad({1000, 0x10000, 0x1000, "/bin/prog", "\x12\xab"});
    e.PutModuleLoad({1000, 0x7f0000, 0x2000, "/lib/libc.so.6", ""});
  });
  b.Frame(1, [](tf::FrameEncoder& e) {
    e.PutThreadStart({1500, 4242});
    e.PutStackNode({1, 0, 0x10100});
    e.PutStackNode({2, 1, 0x10200});
    e.PutStackNode({3, 1, 0x7f0010});
    e.PutStackNode({4, 2, 0x999999});
    e.PutMemorySample({1800, 1 << 20, 0, 0, 0});
    e.PutAlloc({2000, 0xa0, 100, 2, tf::AllocKind::kMalloc});
    e.PutAlloc({3000, 0xb0, 200, 2, tf::AllocKind::kMalloc});
    e.PutAlloc({4000, 0xc0, 50, 3, tf::AllocKind::kNew});
    e.PutFree({5000, 0xa0});
    e.PutFree({6000, 0xb0});
    e.PutMemorySample({6500, 2 << 20, 1 << 20, 0, 0});
    e.PutMmap({6600, 0x400000, 0x3000, 3, 0x22, -1, 4});
    e.PutAlloc({7000, 0xd0, 10, 3, tf::AllocKind::kMalloc});
    e.PutFree({8000, 0xd0});
    e.PutAlloc({9000, 0xe0, 20, 4, tf::AllocKind::kMalloc});
    e.PutRealloc({9500, 0xc0, 0xc8, 60, 3});
    e.PutEnd({10000, 3});
  });
}

void ExpectIn(const std::string& html, const std::string& what) {
  EXPECT_NE(html.find(what), std::string::npos) << "no '" << what << "' in the report";
}

TEST(HtmlReport, SelfContainedWithChartsFlameDataAndTables) {
  TraceBuilder b;
  WriteScenario(b);
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  std::string html = FormatHtmlReport(*a, b.path(), ModuleOffsetNamer(*a));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  ExpectIn(html, "</html>\n");
  // No network: no URL of any kind, no external script, style sheet or image.
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  // The three charts, with the heap and RSS lines and a bar per non-empty bucket.
  ExpectIn(html, "<svg id=\"heap-chart\"");
  ExpectIn(html, "<polyline class=\"heap-line\"");
  ExpectIn(html, "<polyline class=\"rss-line\"");
  ExpectIn(html, "<title>peak heap 350 B at 3 µs</title>");
  ExpectIn(html, "<svg id=\"size-histogram\"");
  ExpectIn(html, "<svg id=\"lifetime-histogram\"");
  // Sizes 100 (bucket 64-127), 200, 50, 10, 20 and the realloc's 60.
  ExpectIn(html, "<rect class=\"bar\" data-min=\"64\" data-max=\"127\" data-blocks=\"1\"");
  ExpectIn(html, "<rect class=\"bar\" data-min=\"32\" data-max=\"63\" data-blocks=\"2\"");
  // Lifetimes: 3000 ns twice (2048-4095), 1000 ns (512-1023), 5500 ns (4096-8191).
  ExpectIn(html, "data-min=\"2048\" data-max=\"4095\" data-blocks=\"2\"");
  ExpectIn(html, "data-min=\"512\" data-max=\"1023\" data-blocks=\"1\"");
  // The flame graph: its controls, container and data, outermost frame first, values as
  // [peak bytes, allocations, leaked bytes].
  ExpectIn(html, "<div id=\"flamegraph\"></div>");
  for (const char* mode : {"peak", "allocs", "leaks"}) {
    ExpectIn(html, std::string("<button type=\"button\" data-mode=\"") + mode + "\">");
  }
  ExpectIn(html, "<script type=\"application/json\" id=\"fg-data\">{\"n\":\"all\",\"v\":[350,");
  ExpectIn(html, "{\"n\":\"prog+0x100\",\"v\":[350,");
  ExpectIn(html, "{\"n\":\"prog+0x200\",\"v\":[300,3,20],\"c\":[{\"n\":\"0x999999\",\"v\":[0,1,20]}]}");
  ExpectIn(html, "{\"n\":\"libc.so.6+0x10\",\"v\":[50,");
  ExpectIn(html, "fg-node");
  ExpectIn(html, "window.onerror");
  // The summary and the tables.
  ExpectIn(html, "<tr><th>peak heap</th><td>350 B at 3 µs</td></tr>");
  ExpectIn(html, "<tr><th>peak RSS</th><td>2048.0 KiB at 5.5 µs, 1024.0 KiB of it in huge pages"
                 "</td></tr>");
  ExpectIn(html, "<tr><th>mmap</th><td>1 maps, 0 unmaps, 0 remaps outside malloc; peak 12.0 KiB "
                 "at 5.6 µs; 12.0 KiB in 1 regions still mapped at the end</td></tr>");
  ExpectIn(html, "<polyline class=\"huge-line\"");
  ExpectIn(html, "<table id=\"mmap-regions\"");
  ExpectIn(html, "<tr><td class=\"num\">12.0 KiB</td><td>anonymous, prot 3</td>"
                 "<td class=\"num\">5.6 µs</td><td class=\"num\">still mapped</td>"
                 "<td class=\"stack\"><code>0x999999</code><br><code>prog+0x200</code>");
  ExpectIn(html, "<table id=\"thread-table\"");
  ExpectIn(html, "<tr><td class=\"num\">1</td><td class=\"num\">4242</td>");
  ExpectIn(html, "<tr><th>leaked</th><td>80 B in 2 blocks</td></tr>");
  ExpectIn(html, "<table id=\"sites-peak\"");
  ExpectIn(html, "<table id=\"sites-leaked\"");
  ExpectIn(html, "<code>prog+0x200</code><br><code>prog+0x100</code>");
}

TEST(HtmlReport, NamesAreEscapedForHtmlAndForTheEmbeddedData) {
  TraceBuilder b;
  WriteScenario(b);
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  const std::string evil = "</script><img onerror=alert(1)> \"q\" 'a' & \\ b";
  std::string html = FormatHtmlReport(*a, "/tmp/<x>.trace", [&](uint64_t) { return evil; });
  EXPECT_EQ(html.find(evil), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<x>"), std::string::npos);
  // Tables: HTML entities. Data: JSON with <, > and & as \u escapes, so no "</script>" early.
  ExpectIn(html, "&lt;/script&gt;&lt;img onerror=alert(1)&gt; &quot;q&quot; &#39;a&#39; &amp; \\ b");
  ExpectIn(html, "\"n\":\"\\u003c/script\\u003e\\u003cimg onerror=alert(1)\\u003e \\\"q\\\" 'a' "
                 "\\u0026 \\\\ b\"");
  ExpectIn(html, "/tmp/&lt;x&gt;.trace");
  EXPECT_EQ(HtmlEscape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
}

}  // namespace
}  // namespace poolscope::analysis
