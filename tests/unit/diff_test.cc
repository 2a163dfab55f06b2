// `poolscope diff` on hand-built traces, with literal expected numbers: sites matched by frame
// names across different load addresses and stack ids, the impact order, the table and the
// --fail-on grammar.
#include <memory>
#include <string>
#include <vector>

#include "diff.h"
#include "gtest/gtest.h"
#include "poolscope/trace_format.h"
#include "report_text.h"
#include "summary.h"
#include "trace_builder.h"

namespace poolscope::analysis {
namespace {

namespace tf = trace_format;
using testutil::TraceBuilder;

void Header(TraceBuilder& b, uint64_t load) {
  b.Frame(0, [load](tf::FrameEncoder& e) {
    tf::ProcessRecord p;
    p.pid = 9;
    p.executable = "/bin/prog";
    p.start_monotonic_ns = 1000;
    e.PutProcess(p);
    e.PutModuleLoad({1000, load, 0x1000, "/bin/prog", ""});
  });
}

// Sites (frames innermost first): A = prog+0x100 < prog+0x10, B = prog+0x200 < prog+0x10,
// D = prog+0x400 < prog+0x10. A holds 100 B of the 110 B peak, B leaks 10 B, D makes a
// temporary of 1 B.
void WriteBase(TraceBuilder& b) {
  const uint64_t m = 0x10000;
  Header(b, m);
  b.Frame(1, [m](tf::FrameEncoder& e) {
    e.PutStackNode({1, 0, m + 0x10});
    e.PutStackNode({2, 1, m + 0x100});  // A
    e.PutStackNode({3, 1, m + 0x200});  // B
    e.PutStackNode({4, 1, m + 0x400});  // D
    e.PutAlloc({2000, 0xa0, 100, 2, tf::AllocKind::kMalloc});
    e.PutAlloc({3000, 0xb0, 10, 3, tf::AllocKind::kMalloc});  // peak 110
    e.PutFree({4000, 0xa0});
    e.PutAlloc({4500, 0xd0, 1, 4, tf::AllocKind::kMalloc});
    e.PutFree({4600, 0xd0});
    e.PutEnd({5000, 0});
  });
}

// The same program loaded elsewhere, with other stack ids: A holds 200 B of the 230 B peak,
// B leaks 30 B in 3 blocks, D is gone and C = prog+0x300 < prog+0x10 makes a 5 B temporary.
void WriteNew(TraceBuilder& b) {
  const uint64_t m = 0x550000;
  Header(b, m);
  b.Frame(1, [m](tf::FrameEncoder& e) {
    e.PutStackNode({11, 0, m + 0x10});
    e.PutStackNode({12, 11, m + 0x200});  // B
    e.PutStackNode({13, 11, m + 0x100});  // A
    e.PutStackNode({14, 11, m + 0x300});  // C
    e.PutAlloc({2000, 0xa0, 100, 13, tf::AllocKind::kMalloc});
    e.PutAlloc({2100, 0xa8, 100, 13, tf::AllocKind::kMalloc});
    e.PutAlloc({2200, 0xb0, 10, 12, tf::AllocKind::kMalloc});
    e.PutAlloc({2300, 0xb8, 10, 12, tf::AllocKind::kMalloc});
    e.PutAlloc({2400, 0xc0, 10, 12, tf::AllocKind::kMalloc});  // peak 230
    e.PutFree({3000, 0xa0});
    e.PutFree({3100, 0xa8});
    e.PutAlloc({3500, 0xd0, 5, 14, tf::AllocKind::kMalloc});
    e.PutFree({3600, 0xd0});
    e.PutEnd({5000, 0});
  });
}

struct Traces {
  TraceBuilder base_file, new_file;
  TraceAnalysis base, now;
  TraceDiff diff;
};

std::unique_ptr<Traces> Load() {
  auto t = std::make_unique<Traces>();
  WriteBase(t->base_file);
  WriteNew(t->new_file);
  auto base = AnalyzeTrace(t->base_file.path());
  auto now = AnalyzeTrace(t->new_file.path());
  EXPECT_TRUE(base.ok()) << base.status();
  EXPECT_TRUE(now.ok()) << now.status();
  if (!base.ok() || !now.ok()) return nullptr;
  t->base = *base;
  t->now = *now;
  t->diff = DiffTraces(t->base, ModuleOffsetNamer(t->base), t->now, ModuleOffsetNamer(t->now));
  return t;
}

using Frames = std::vector<std::string>;

TEST(Diff, SitesMatchByFrameNamesAndSortByImpact) {
  auto t = Load();
  ASSERT_NE(t, nullptr);
  const TraceDiff& d = t->diff;
  EXPECT_EQ(d.base_total.peak_bytes, 110u);
  EXPECT_EQ(d.new_total.peak_bytes, 230u);
  EXPECT_EQ(d.base_total.allocations, 3u);
  EXPECT_EQ(d.new_total.allocations, 6u);
  EXPECT_EQ(d.base_total.leaked_bytes, 10u);
  EXPECT_EQ(d.new_total.leaked_bytes, 30u);
  EXPECT_EQ(d.base_total.temporary, 1u);
  EXPECT_EQ(d.new_total.temporary, 1u);
  ASSERT_EQ(d.sites.size(), 4u);  // A and B matched across addresses; C new; D gone
  EXPECT_EQ(d.unchanged_sites, 0u);

  // A: peak +100 first; B: peak +20; then C and D (no peak, 1 allocation each) by name.
  EXPECT_EQ(d.sites[0].frames, (Frames{"prog+0x100", "prog+0x10"}));
  EXPECT_TRUE(d.sites[0].in_base && d.sites[0].in_new);
  EXPECT_EQ(d.sites[0].base.peak_bytes, 100u);
  EXPECT_EQ(d.sites[0].now.peak_bytes, 200u);
  EXPECT_EQ(d.sites[0].base.allocations, 1u);
  EXPECT_EQ(d.sites[0].now.allocations, 2u);

  EXPECT_EQ(d.sites[1].frames, (Frames{"prog+0x200", "prog+0x10"}));
  EXPECT_EQ(d.sites[1].base.peak_bytes, 10u);
  EXPECT_EQ(d.sites[1].now.peak_bytes, 30u);
  EXPECT_EQ(d.sites[1].base.leaked_bytes, 10u);
  EXPECT_EQ(d.sites[1].now.leaked_bytes, 30u);
  EXPECT_EQ(d.sites[1].now.allocations, 3u);

  EXPECT_EQ(d.sites[2].frames, (Frames{"prog+0x300", "prog+0x10"}));
  EXPECT_FALSE(d.sites[2].in_base);
  EXPECT_EQ(d.sites[2].now.allocations, 1u);
  EXPECT_EQ(d.sites[2].now.temporary, 1u);
  EXPECT_EQ(d.sites[3].frames, (Frames{"prog+0x400", "prog+0x10"}));
  EXPECT_FALSE(d.sites[3].in_new);
  EXPECT_EQ(d.sites[3].base.temporary, 1u);
}

TEST(Diff, SitesWithTheSameNamesMergeAndAShrinkRanksByItsSize) {
  auto t = Load();
  ASSERT_NE(t, nullptr);
  // A namer that tells nothing apart: every site of a trace becomes one.
  FrameNamer same = [](uint64_t) { return std::string("f"); };
  TraceDiff d = DiffTraces(t->base, same, t->now, same);
  ASSERT_EQ(d.sites.size(), 1u);
  EXPECT_EQ(d.sites[0].frames, (Frames{"f", "f"}));
  EXPECT_EQ(d.sites[0].base.allocations, 3u);
  EXPECT_EQ(d.sites[0].now.allocations, 6u);
  EXPECT_EQ(d.sites[0].now.peak_bytes, 230u);
  // NEW against BASE: A shrank by 100 B at the peak and still comes first.
  TraceDiff back = DiffTraces(t->now, ModuleOffsetNamer(t->now), t->base,
                              ModuleOffsetNamer(t->base));
  EXPECT_EQ(back.sites[0].frames, (Frames{"prog+0x100", "prog+0x10"}));
  EXPECT_EQ(back.sites[0].now.peak_bytes, 100u);
  // A trace against itself: nothing changed.
  TraceDiff self = DiffTraces(t->base, ModuleOffsetNamer(t->base), t->base,
                              ModuleOffsetNamer(t->base));
  EXPECT_EQ(self.unchanged_sites, 3u);
}

TEST(Diff, TableWithBaseNewAndDeltaPerMetricWithinOneHundredColumns) {
  auto t = Load();
  ASSERT_NE(t, nullptr);
  std::string text = FormatDiff(t->diff, "base.trace", "new.trace");
  EXPECT_EQ(text,
            "base  base.trace\n"
            "new   new.trace\n"
            "\n"
            "totals                base         new       delta\n"
            "  peak heap          110 B       230 B      +120 B  (+109.1%)\n"
            "  allocations            3           6          +3  (+100.0%)\n"
            "  leaked              10 B        30 B       +20 B  (+200.0%)\n"
            "  temporary              1           1           0\n"
            "\n"
            "sites by impact: 4 changed (1 only in new, 1 only in base), 0 unchanged\n"
            "     peak held                     allocations                   leaked\n"
            "        base       new     delta      base       new     delta      base       new"
            "     delta\n"
            "       100 B     200 B    +100 B         1         2        +1       0 B       0 B"
            "         0\n"
            "      at prog+0x100\n"
            "      by prog+0x10\n"
            "        10 B      30 B     +20 B         1         3        +2      10 B      30 B"
            "     +20 B\n"
            "      at prog+0x200\n"
            "      by prog+0x10\n"
            "         0 B       0 B         0         0         1        +1       0 B       0 B"
            "         0  new\n"
            "      at prog+0x300\n"
            "      by prog+0x10\n"
            "         0 B       0 B         0         1         0        -1       0 B       0 B"
            "         0  gone\n"
            "      at prog+0x400\n"
            "      by prog+0x10\n");
  for (size_t s = 0, e; (e = text.find('\n', s)) != std::string::npos; s = e + 1) {
    EXPECT_LE(e - s, 100u) << text.substr(s, e - s);
  }
  // Only the top sites when asked, with a count of the rest.
  std::string top = FormatDiff(t->diff, "b", "n", {.max_sites = 1, .frames_per_site = 1});
  EXPECT_NE(top.find("      at prog+0x100\n  ... and 3 more changed sites\n"), std::string::npos)
      << top;
  EXPECT_EQ(top.find("by prog+0x10"), std::string::npos);
}

TEST(FailOn, Grammar) {
  auto peak = ParseFailOn("peak:+10%");
  ASSERT_TRUE(peak.ok()) << peak.status();
  EXPECT_EQ(peak->metric, DiffMetric::kPeak);
  EXPECT_TRUE(peak->percent);
  EXPECT_EQ(peak->percent_limit, 10.0);
  auto leaked = ParseFailOn("leaked:+1MiB");
  ASSERT_TRUE(leaked.ok());
  EXPECT_EQ(leaked->metric, DiffMetric::kLeaked);
  EXPECT_FALSE(leaked->percent);
  EXPECT_EQ(leaked->limit, 1048576u);
  EXPECT_EQ(ParseFailOn("leaked:+2MB")->limit, 2000000u);
  EXPECT_EQ(ParseFailOn("allocs:+1000")->limit, 1000u);
  EXPECT_EQ(ParseFailOn("allocs:10k")->limit, 10000u);  // the '+' may be left out
  EXPECT_EQ(ParseFailOn("temporary:+2.5%")->percent_limit, 2.5);
  EXPECT_EQ(ParseFailOn("temporary:+0")->limit, 0u);

  auto unknown = ParseFailOn("rss:+10%");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(),
            "--fail-on 'rss:+10%': unknown metric 'rss' (one of peak, leaked, allocs, temporary)");
  auto no_colon = ParseFailOn("peak+10%");
  ASSERT_FALSE(no_colon.ok());
  EXPECT_EQ(no_colon.status().message(),
            "--fail-on 'peak+10%': no ':' (expected METRIC:+N% or METRIC:+AMOUNT, e.g. "
            "peak:+10%, leaked:+1MiB, allocs:+1000)");
  for (const char* bad : {"peak:", "peak:+", "peak:-10%", "peak:+ten%", "peak:+10%%",
                          "peak:+1e3%", "allocs:+1MiB", "peak:+10parsecs", "leaked:+%"}) {
    EXPECT_FALSE(ParseFailOn(bad).ok()) << bad;
  }
}

TEST(FailOn, ThresholdsOnTotals) {
  auto t = Load();
  ASSERT_NE(t, nullptr);
  auto check = [&](const char* spec) {
    auto f = ParseFailOn(spec);
    EXPECT_TRUE(f.ok()) << spec;
    return CheckFailOn(t->diff, *f);
  };
  // Peak 110 B -> 230 B: +120 B, +109.1%.
  FailOnResult r = check("peak:+100%");
  EXPECT_TRUE(r.exceeded);
  EXPECT_EQ(r.line,
            "peak exceeded: 110 B -> 230 B, +120 B (+109.1%), over peak:+100%; "
            "most from prog+0x100 (+100 B)");
  r = check("peak:+110%");
  EXPECT_FALSE(r.exceeded);
  EXPECT_EQ(r.line, "peak ok: 110 B -> 230 B, +120 B (+109.1%), within peak:+110%");
  EXPECT_FALSE(check("peak:+120").exceeded);  // exactly the threshold is allowed
  EXPECT_TRUE(check("peak:+119").exceeded);
  // Leaked 10 B -> 30 B.
  r = check("leaked:+1KiB");
  EXPECT_FALSE(r.exceeded);
  r = check("leaked:+10");
  EXPECT_TRUE(r.exceeded);
  EXPECT_EQ(r.line,
            "leaked exceeded: 10 B -> 30 B, +20 B (+200.0%), over leaked:+10; "
            "most from prog+0x200 (+20 B)");
  // Allocations 3 -> 6.
  EXPECT_FALSE(check("allocs:+3").exceeded);
  r = check("allocs:+2");
  EXPECT_TRUE(r.exceeded);
  EXPECT_EQ(r.line,
            "allocs exceeded: 3 -> 6, +3 (+100.0%), over allocs:+2; most from prog+0x200 (+2)");
  // Temporaries 1 -> 1.
  r = check("temporary:+0%");
  EXPECT_FALSE(r.exceeded);
  EXPECT_EQ(r.line, "temporary ok: 1 -> 1, unchanged, within temporary:+0%");

  // Any growth from nothing exceeds a percentage; a shrink never exceeds anything.
  TraceDiff from_zero;
  from_zero.new_total.leaked_bytes = 5;
  auto pct = ParseFailOn("leaked:+1000%");
  r = CheckFailOn(from_zero, *pct);
  EXPECT_TRUE(r.exceeded);
  EXPECT_EQ(r.line,
            "leaked exceeded: 0 B -> 5 B, +5 B (from 0), over leaked:+1000%; most from no single "
            "site");
  TraceDiff shrink;
  shrink.base_total.allocations = 10;
  EXPECT_FALSE(CheckFailOn(shrink, *ParseFailOn("allocs:+0")).exceeded);
}

}  // namespace
}  // namespace poolscope::analysis
