// The heap model on hand-built traces with literal expected numbers, and the budget parser.
#include <algorithm>
#include <string>
#include <vector>

#include "budget.h"
#include "export_folded.h"
#include "gtest/gtest.h"
#include "poolscope/trace_format.h"
#include "report_html.h"
#include "report_json.h"
#include "report_text.h"
#include "summary.h"
#include "trace_builder.h"

namespace poolscope::analysis {
namespace {

namespace tf = trace_format;

using poolscope::testutil::TraceBuilder;

const SiteStats& SiteOf(const TraceAnalysis& a, uint64_t stack) {
  for (const SiteStats& s : a.sites) {
    if (s.stack == stack) return s;
  }
  static SiteStats none;
  ADD_FAILURE() << "no site " << stack;
  return none;
}

// Stack 1 = main, 2 = main->load, 3 = main->parse. Site 2 holds the peak, site 3 leaks and
// makes temporaries.
void WriteScenario(TraceBuilder& b) {
  b.Frame(0, [](tf::FrameEncoder& e) {
    testutil::PutProgram(e, 77, 1000);
  });
  b.Frame(1, [](tf::FrameEncoder& e) {
    e.PutStackNode({1, 0, 0x1000});
    e.PutStackNode({2, 1, 0x2000});
    e.PutStackNode({3, 1, 0x3000});
    e.PutAlloc({2000, 0xa0, 100, 2, tf::AllocKind::kMalloc});   // load: 100
    e.PutAlloc({3000, 0xb0, 200, 2, tf::AllocKind::kMalloc});   // load: 300 live (peak soon)
    e.PutAlloc({4000, 0xc0, 50, 3, tf::AllocKind::kNew});       // parse: 350 = peak
    e.PutFree({5000, 0xa0});                                     // 250
    e.PutFree({6000, 0xb0});                                     // 50
    e.PutAlloc({7000, 0xd0, 10, 3, tf::AllocKind::kMalloc});    // temporary...
    e.PutFree({8000, 0xd0});                                     // ...freed before next alloc
    e.PutAlloc({9000, 0xe0, 20, 3, tf::AllocKind::kMalloc});    // leaks with 0xc0
    e.PutEnd({10000, 0});
  });
  b.Frame(2, [](tf::FrameEncoder& e) {
    // Another thread: its free right after its own allocation is a temporary too.
    e.PutAlloc({2500, 0xf0, 8, 1, tf::AllocKind::kMalloc});
    e.PutFree({2600, 0xf0});
  });
}

TEST(Analysis, SitesGetTheirPeakLeaksAndTemporaries) {
  TraceBuilder b;
  WriteScenario(b);
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->summary.allocations, 6u);
  EXPECT_EQ(a->summary.frees, 4u);
  EXPECT_EQ(a->summary.allocated_bytes, 388u);
  EXPECT_EQ(a->summary.peak_bytes, 350u);
  EXPECT_EQ(a->summary.peak_time_ns, 3000u);
  EXPECT_EQ(a->summary.leaked_bytes, 70u);
  EXPECT_EQ(a->summary.leaked_blocks, 2u);
  EXPECT_EQ(a->temporary, 2u);
  EXPECT_EQ(a->summary.exit_status, 0);

  const SiteStats& load = SiteOf(*a, 2);
  EXPECT_EQ(load.allocations, 2u);
  EXPECT_EQ(load.allocated_bytes, 300u);
  EXPECT_EQ(load.peak_bytes, 300u);
  EXPECT_EQ(load.peak_blocks, 2u);
  EXPECT_EQ(load.leaked_bytes, 0u);
  const SiteStats& parse = SiteOf(*a, 3);
  EXPECT_EQ(parse.allocations, 3u);
  EXPECT_EQ(parse.peak_bytes, 50u);
  EXPECT_EQ(parse.leaked_bytes, 70u);
  EXPECT_EQ(parse.leaked_blocks, 2u);
  EXPECT_EQ(parse.temporary, 1u);
  EXPECT_EQ(SiteOf(*a, 1).temporary, 1u);
  EXPECT_EQ(a->Frames(3), (std::vector<uint64_t>{0x3000, 0x1000}));
}

// Mappings outside malloc: a partial unmap leaves the rest live, a moved region keeps its
// stack, a fixed mapping replaces what it covers; the peak is of all mapped bytes at once.
TEST(Analysis, MmapRegionsAreFollowedThroughPartialUnmapsAndRemaps) {
  constexpr uint64_t kAnon = 0x22;  // MAP_PRIVATE | MAP_ANONYMOUS
  TraceBuilder b;
  b.Frame(0, [](tf::FrameEncoder& e) {
    testutil::PutProgram(e, 77, 1000);
    e.PutMemorySample({1500, 4 << 20, 2 << 20, 0, 0});
    e.PutMemorySample({2500, 9 << 20, 4 << 20, 0, 0});  // the peak RSS
    e.PutMemorySample({3500, 7 << 20, 6 << 20, 0, 0});
  });
  b.Frame(1, [](tf::FrameEncoder& e) {
    e.PutStackNode({1, 0, 0x1000});
    e.PutStackNode({2, 1, 0x2000});
    e.PutMmap({2000, 0x100000, 0x40000, 3, kAnon, -1, 1});      // A: 256 KiB
    e.PutMmap({2100, 0x200000, 0x10000, 1, 0x2, 5, 2});         // B: 64 KiB of a file
    e.PutMunmap({2200, 0x110000, 0x10000});                      // A loses its second 64 KiB
    e.PutMremap({2300, 0x200000, 0x10000, 0x300000, 0x80000});   // B moves and grows to 512 KiB
    e.PutMmap({2400, 0x100000, 0x10000, 3, kAnon | 0x10, -1, 2}); // C (MAP_FIXED) over A's first
    e.PutMunmap({2500, 0x300000, 0x80000});                      // B is gone
    e.PutEnd({4000, 0});
  });
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->summary.peak_rss_bytes, 9u << 20);
  EXPECT_EQ(a->summary.peak_rss_time_ns, 1500u);
  EXPECT_EQ(a->summary.peak_rss_huge_bytes, 4u << 20);
  const MmapStats& m = a->mmap;
  EXPECT_EQ(m.mmaps, 3u);
  EXPECT_EQ(m.munmaps, 2u);
  EXPECT_EQ(m.mremaps, 1u);
  // After the remap: A's 192 KiB and B's 512 KiB.
  EXPECT_EQ(m.peak_bytes, 0x30000u + 0x80000u);
  EXPECT_EQ(m.peak_time_ns, 1300u);
  // At the end: A's last 128 KiB and C's 64 KiB.
  EXPECT_EQ(m.live_bytes, 0x20000u + 0x10000u);
  EXPECT_EQ(m.live_regions, 2u);
  ASSERT_EQ(m.largest.size(), 3u);
  EXPECT_EQ(m.largest[0].length, 0x80000u);  // B, at its largest
  EXPECT_EQ(m.largest[0].stack, 2u);
  EXPECT_FALSE(m.largest[0].anonymous());
  EXPECT_TRUE(m.largest[0].unmapped);
  EXPECT_EQ(m.largest[0].unmapped_ns, 1500u);
  EXPECT_EQ(m.largest[1].length, 0x40000u);  // A
  EXPECT_EQ(m.largest[1].stack, 1u);
  EXPECT_TRUE(m.largest[1].anonymous());
  EXPECT_FALSE(m.largest[1].unmapped);
  EXPECT_EQ(m.largest[2].length, 0x10000u);  // C
}

// A namer's text with several lines (calls inlined at the address, innermost first) gives
// frames of their own in every output, in stack order, and the innermost names a site.
TEST(Analysis, InlinedCallsAreFramesOfTheirOwnInEveryOutput) {
  TraceBuilder b;
  WriteScenario(b);
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok());
  FrameNamer namer = [](uint64_t address) -> std::string {
    switch (address) {
      case 0x2000: return "load_inner a.c:5\nload a.c:20";
      case 0x1000: return "main a.c:40";
      default: return "parse b.c:7";
    }
  };
  std::string text = FormatTextReport(*a, "t", namer);
  EXPECT_NE(text.find("                at load_inner a.c:5\n                by load a.c:20\n"
                      "                by main a.c:40\n"),
            std::string::npos) << text;

  std::string json = FormatJsonReport(*a, "t", namer);
  EXPECT_NE(json.find(R"({"name": "load_inner a.c:5", "address": "0x2000", "module": null, )"
                      R"("offset": null, "inlined": true},
            {"name": "load a.c:20", "address": "0x2000", "module": null, "offset": null, )"
                      R"("inlined": false},
            {"name": "main a.c:40", "address": "0x1000", "module": null, "offset": null, )"
                      R"("inlined": false})"),
            std::string::npos) << json;

  EXPECT_NE(ExportFolded(*a, namer, FoldedMetric::kAllocatedBytes)
                .find("main_a.c:40;load_a.c:20;load_inner_a.c:5 300\n"),
            std::string::npos);
  std::string html = FormatHtmlReport(*a, "t", namer);
  EXPECT_NE(html.find("<code>load_inner a.c:5</code><br><code>load a.c:20</code><br>"
                      "<code>main a.c:40</code>"),
            std::string::npos);
  ASSERT_FALSE(a->sites.empty());
  const SiteStats* load = nullptr;
  for (const SiteStats& s : a->sites) {
    if (s.allocated_bytes == 300) load = &s;
  }
  ASSERT_NE(load, nullptr);
  EXPECT_EQ(DescribeSite(*a, *load, namer), "load_inner a.c:5");
}

TEST(Analysis, TextReportListsTheSitesInOrder) {
  TraceBuilder b;
  WriteScenario(b);
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok());
  FrameNamer namer = [](uint64_t address) { return "fn_" + std::to_string(address); };
  std::string text = FormatTextReport(*a, "t", namer);
  size_t peak = text.find("sites holding the peak heap (2 sites)");
  ASSERT_NE(peak, std::string::npos) << text;
  // The load site (300 B at the peak) comes before the parse site (50 B).
  size_t load = text.find("at fn_8192", peak);
  size_t parse = text.find("at fn_12288", peak);
  EXPECT_LT(load, parse) << text;
  EXPECT_NE(text.find("sites leaking (still allocated at the end) (1 sites)"), std::string::npos);
  EXPECT_NE(text.find("temporary  2 allocations"), std::string::npos);
  // Without memory samples the timeline has the heap alone.
  EXPECT_NE(text.find("memory over time         heap\n  from      0 ns          0 B\n"),
            std::string::npos) << text;
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    EXPECT_LE(end - start, 100u) << text.substr(start, end - start);
  }
}

TEST(Analysis, TextReportShowsMemoryMmapAndThreads) {
  TraceBuilder b;
  b.Frame(0, [](tf::FrameEncoder& e) {
    testutil::PutProgram(e, 77, 0);
    e.PutMemorySample({250000000, 8 << 20, 2 << 20, 0, 0});
    e.PutMemorySample({750000000, 3 << 20, 1 << 20, 0, 0});
  });
  b.Frame(1, [](tf::FrameEncoder& e) {
    e.PutThreadStart({1000, 4242});
    e.PutStackNode({1, 0, 0x1000});
    e.PutAlloc({100000000, 0xa0, 4096, 1, tf::AllocKind::kMalloc});
    e.PutMmap({200000000, 0x400000, 0x100000, 3, 0x22, -1, 1});
    e.PutFree({600000000, 0xa0});
    e.PutEnd({1000000000, 0});
  });
  b.Frame(2, [](tf::FrameEncoder& e) {
    e.PutThreadStart({2000, 4243});
    e.PutAlloc({300000000, 0xb0, 100, 1, tf::AllocKind::kMalloc});
    e.PutAlloc({310000000, 0xc0, 100, 1, tf::AllocKind::kMalloc});
  });
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  std::string text = FormatTextReport(*a, "t.trace", [](uint64_t) { return std::string("f"); });
  auto expect_in = [&](const std::string& part) {
    EXPECT_NE(text.find(part), std::string::npos) << "missing:\n" << part << "\nin:\n" << text;
  };
  expect_in("peak RSS   8192.0 KiB at 0.250 s, 2048.0 KiB of it in huge pages\n");
  expect_in("mmap       1 maps, 0 unmaps, 0 remaps outside malloc, peak 1024.0 KiB at 0.200 s\n"
            "           1024.0 KiB in 1 regions still mapped at the end\n");
  expect_in("threads by allocations (2 threads)\n"
            "   thread       tid       allocs    allocated        frees    temporary\n"
            "        2      4243            2        200 B            0            0\n"
            "        1      4242            1       4096 B            1            1\n");
  expect_in("memory over time         heap          RSS   huge pages\n"
            "  from      0 ns          0 B            -            -\n"
            "  from    100 ms       4096 B            -            -\n"
            "  from    200 ms       4096 B   8192.0 KiB   2048.0 KiB\n"
            "  from    300 ms       4296 B            -            -\n");
  // Each span shows its highest heap: the free at 0.6 s shows from the next span on.
  expect_in("  from    600 ms       4296 B            -            -\n"
            "  from    700 ms        200 B   3072.0 KiB   1024.0 KiB\n");
  expect_in("largest mmap regions (outside malloc)\n"
            "    1024.0 KiB  anonymous rw-, mapped at 0.200 s, still mapped\n"
            "                at f\n");
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    EXPECT_LE(end - start, 100u) << text.substr(start, end - start);
  }
}

TEST(Folded, OneLinePerStackOutermostFirstSummingToTheTotals) {
  TraceBuilder b;
  WriteScenario(b);
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok());
  FrameNamer namer = [](uint64_t address) { return "fn " + std::to_string(address); };
  EXPECT_EQ(ExportFolded(*a, namer, FoldedMetric::kAllocatedBytes),
            "fn_4096 8\n"
            "fn_4096;fn_12288 80\n"
            "fn_4096;fn_8192 300\n");
  EXPECT_EQ(ExportFolded(*a, namer, FoldedMetric::kLeakedBytes), "fn_4096;fn_12288 70\n");
  EXPECT_EQ(ExportFolded(*a, namer, FoldedMetric::kAllocations),
            "fn_4096 1\nfn_4096;fn_12288 3\nfn_4096;fn_8192 2\n");
}

TEST(Budget, SizesReadIecAndSiSuffixes) {
  EXPECT_EQ(*ParseSize("64MiB"), uint64_t{1} << 26);
  EXPECT_EQ(*ParseSize("64MB"), 64000000u);
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_EQ(*ParseSize("1.5KiB"), 1536u);
  EXPECT_EQ(*ParseSize("2 GiB"), uint64_t{2} << 30);
  EXPECT_EQ(*ParseSize("10kB"), 10000u);
  EXPECT_FALSE(ParseSize("64 parsecs").ok());
  EXPECT_FALSE(ParseSize("MiB").ok());
  EXPECT_EQ(*ParseCount("10k"), 10000u);
  EXPECT_EQ(*ParseCount("2M"), 2000000u);
}

TEST(Budget, ExceededBudgetsNameTheTopSite) {
  TraceBuilder b;
  WriteScenario(b);
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok());
  Budget budget;
  ASSERT_TRUE(SetBudget(budget, "max-peak", "300").ok());
  ASSERT_TRUE(SetBudget(budget, "max-leaked", "1KiB").ok());
  ASSERT_TRUE(SetBudget(budget, "max-allocs", "5").ok());
  FrameNamer namer = [](uint64_t address) { return "fn_" + std::to_string(address); };
  auto results = CheckBudget(*a, budget, namer);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].exceeded);
  EXPECT_EQ(results[0].line, "max-peak exceeded: 350 B > 300 B; most from fn_8192 (300 B)");
  EXPECT_FALSE(results[1].exceeded);
  EXPECT_EQ(results[1].line, "max-leaked ok: 70 B <= 1024 B");
  EXPECT_TRUE(results[2].exceeded);
  EXPECT_EQ(results[2].line, "max-allocs exceeded: 6 > 5; most from fn_12288 (3)");
  std::string xml = BudgetJUnit(results, "t.trace");
  EXPECT_NE(xml.find("tests=\"3\" failures=\"2\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"max-peak exceeded"), std::string::npos);
}

TEST(Budget, UnknownNameIsAnError) {
  Budget budget;
  EXPECT_FALSE(SetBudget(budget, "max-everything", "1").ok());
}

}  // namespace
}  // namespace poolscope::analysis
