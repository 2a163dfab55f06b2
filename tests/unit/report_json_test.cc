// `report --format json` and the text report's histograms on a hand-built trace, with literal
// expected numbers. (The CLI test validates real output against docs/report.schema.json.)
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "poolscope/trace_format.h"
#include "report_json.h"
#include "report_text.h"
#include "summary.h"
#include "trace_builder.h"

namespace poolscope::analysis {
namespace {

namespace tf = trace_format;
using testutil::TraceBuilder;

// /bin/prog at 0x10000, libc at 0x7f0000. Stack 1 = main (prog+0x100), 2 = main->load
// (prog+0x200), 3 = main->libc+0x10, 4 = main->load->0x999999 (outside every module).
//   t=2000 load 100 B, t=3000 load 200 B, t=4000 libc 50 B: 350 B, the peak (3000 ns in)
//   frees of the load blocks after 3000 ns each; a 10 B temporary living 1000 ns;
//   20 B leaked from stack 4; the 50 B block moved by realloc to 60 B after 5500 ns (leaked).
//   Thread 2: 8 B freed after 100 ns (a temporary of its own).
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
    e.PutAlloc({2000, 0xa0, 100, 2, tf::AllocKind::kMalloc});
    e.PutAlloc({3000, 0xb0, 200, 2, tf::AllocKind::kMalloc});
    e.PutAlloc({4000, 0xc0, 50, 3, tf::AllocKind::kNew});
    e.PutFree({5000, 0xa0});
    e.PutFree({6000, 0xb0});
    e.PutAlloc({7000, 0xd0, 10, 3, tf::AllocKind::kMalloc});
    e.PutFree({8000, 0xd0});
    e.PutAlloc({9000, 0xe0, 20, 4, tf::AllocKind::kMalloc});
    e.PutRealloc({9500, 0xc0, 0xc8, 60, 3});
    e.PutEnd({10000, 3});
  });
  b.Frame(2, [](tf::FrameEncoder& e) {
    e.PutThreadStart({2400, 4243});
    e.PutAlloc({2500, 0xf0, 8, 1, tf::AllocKind::kMalloc});
    e.PutFree({2600, 0xf0});
  });
}

TEST(Histograms, PowerOfTwoBucketsOfSizesAndLifetimes) {
  TraceBuilder b;
  WriteScenario(b);
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size_histogram.size(), 65u);
  auto blocks = [](const std::vector<HistogramBucket>& h, int k) { return h[k].blocks; };
  auto bytes = [](const std::vector<HistogramBucket>& h, int k) { return h[k].bytes; };
  // Sizes 8 and 10 in [8, 15]; 20 in [16, 31]; 50 and 60 in [32, 63]; 100; 200.
  EXPECT_EQ(blocks(a->size_histogram, 4), 2u);
  EXPECT_EQ(bytes(a->size_histogram, 4), 18u);
  EXPECT_EQ(blocks(a->size_histogram, 5), 1u);
  EXPECT_EQ(blocks(a->size_histogram, 6), 2u);
  EXPECT_EQ(bytes(a->size_histogram, 6), 110u);
  EXPECT_EQ(blocks(a->size_histogram, 7), 1u);
  EXPECT_EQ(blocks(a->size_histogram, 8), 1u);
  EXPECT_EQ(bytes(a->size_histogram, 8), 200u);
  uint64_t total = 0;
  for (const HistogramBucket& h : a->size_histogram) total += h.blocks;
  EXPECT_EQ(total, 7u);  // six allocations and one reallocation
  // Lifetimes 100 ns, 1000 ns, 3000 ns twice, 5500 ns (the realloc'd block).
  EXPECT_EQ(blocks(a->lifetime_histogram, 7), 1u);
  EXPECT_EQ(blocks(a->lifetime_histogram, 10), 1u);
  EXPECT_EQ(blocks(a->lifetime_histogram, 12), 2u);
  EXPECT_EQ(bytes(a->lifetime_histogram, 12), 300u);
  EXPECT_EQ(blocks(a->lifetime_histogram, 13), 1u);
  EXPECT_EQ(bytes(a->lifetime_histogram, 13), 50u);
  total = 0;
  for (const HistogramBucket& h : a->lifetime_histogram) total += h.blocks;
  EXPECT_EQ(total, 5u);
  EXPECT_EQ(BucketLow(12), 2048u);
  EXPECT_EQ(BucketHigh(12), 4095u);
  EXPECT_EQ(BucketLow(0), 0u);
  EXPECT_EQ(BucketHigh(0), 0u);
  EXPECT_EQ(BucketHigh(64), ~uint64_t{0});
}

TEST(Threads, PerThreadTotals) {
  TraceBuilder b;
  WriteScenario(b);
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->threads.size(), 2u);
  const ThreadStats& t1 = a->threads[0];
  EXPECT_EQ(t1.thread, 1u);
  EXPECT_EQ(t1.kernel_tid, 4242u);
  EXPECT_EQ(t1.allocations, 6u);  // the reallocation counts, as it does for the sites
  EXPECT_EQ(t1.allocated_bytes, 440u);
  EXPECT_EQ(t1.frees, 3u);
  EXPECT_EQ(t1.temporary, 1u);
  const ThreadStats& t2 = a->threads[1];
  EXPECT_EQ(t2.thread, 2u);
  EXPECT_EQ(t2.kernel_tid, 4243u);
  EXPECT_EQ(t2.allocations, 1u);
  EXPECT_EQ(t2.allocated_bytes, 8u);
  EXPECT_EQ(t2.frees, 1u);
  EXPECT_EQ(t2.temporary, 1u);
}

std::string Report(const TraceAnalysis& a, JsonReportOptions options = {}) {
  return FormatJsonReport(a, "scenario.trace", ModuleOffsetNamer(a), options);
}

void ExpectIn(const std::string& json, const std::string& part) {
  EXPECT_NE(json.find(part), std::string::npos) << "missing:\n" << part << "\nin:\n" << json;
}

TEST(JsonReport, SummaryTraceAndProcess) {
  TraceBuilder b;
  WriteScenario(b);
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  std::string json = Report(*a);
  EXPECT_EQ(json.rfind("{\n  \"schema_version\": 3,\n  \"generator\": \"poolscope\",\n", 0), 0u)
      << json;
  EXPECT_EQ(json.back(), '\n');
  ExpectIn(json, R"(
  "process": {
    "pid": 77,
    "executable": "/bin/prog",
    "engine": "pool",
    "sampled": false,
    "sample_bytes": 0
  },
  "summary": {
    "allocations": 6,
    "frees": 4,
    "reallocations": 1,
    "allocated_bytes": 448,
    "peak_bytes": 350,
    "peak_time_ns": 3000,
    "leaked_bytes": 80,
    "leaked_blocks": 2,
    "temporary": 2,
    "threads": 2,
    "sites": 4,
    "stack_nodes": 4,
    "modules": 2,
    "phase_marks": 0,
    "duration_ns": 9000,
    "ended": true,
    "exit_status": 3,
    "caps_reached": 0
  },
  "modules": [
    {"path": "/bin/prog", "load_address": "0x10000", "size": 4096, "build_id": "12ab"},
    {"path": "/lib/libc.so.6", "load_address": "0x7f0000", "size": 8192, "build_id": ""}
  ],)");
  ExpectIn(json, R"(
  "trace": {
    "path": "scenario.trace",
    "format_version": ")" + std::to_string(trace_format::kMajorVersion) + ".");
  ExpectIn(json, R"("truncated": false,
    "corrupt_frames": 0,)");
}

TEST(JsonReport, TopSitesWithNamedFramesAddressesAndModuleOffsets) {
  TraceBuilder b;
  WriteScenario(b);
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  std::string json = Report(*a);
  // Peak: the load site (300 B in 2 blocks), then the libc site (50 B).
  ExpectIn(json, R"(
    "peak": {
      "total_sites": 2,
      "sites": [
        {
          "rank": 1,
          "stack": 2,
          "peak_bytes": 300,
          "peak_blocks": 2,
          "allocations": 2,
          "allocated_bytes": 300,
          "leaked_bytes": 0,
          "leaked_blocks": 0,
          "temporary": 0,
          "frames_total": 2,
          "frames": [
            {"name": "prog+0x200", "address": "0x10200", "module": "/bin/prog", "offset": "0x200", "inlined": false},
            {"name": "prog+0x100", "address": "0x10100", "module": "/bin/prog", "offset": "0x100", "inlined": false}
          ]
        },
        {
          "rank": 2,
          "stack": 3,
          "peak_bytes": 50,
          "peak_blocks": 1,
          "allocations": 3,
          "allocated_bytes": 120,
          "leaked_bytes": 60,
          "leaked_blocks": 1,
          "temporary": 1,
          "frames_total": 2,
          "frames": [
            {"name": "libc.so.6+0x10", "address": "0x7f0010", "module": "/lib/libc.so.6", "offset": "0x10", "inlined": false},)");
  // Leaks: the libc site's 60 B, then stack 4's 20 B, whose innermost frame is in no module.
  ExpectIn(json, R"(
    "leaked": {
      "total_sites": 2,
      "sites": [
        {
          "rank": 1,
          "stack": 3,)");
  ExpectIn(json, R"(
          "rank": 2,
          "stack": 4,
          "peak_bytes": 0,
          "peak_blocks": 0,
          "allocations": 1,
          "allocated_bytes": 20,
          "leaked_bytes": 20,
          "leaked_blocks": 1,
          "temporary": 0,
          "frames_total": 3,
          "frames": [
            {"name": "0x999999", "address": "0x999999", "module": null, "offset": null, "inlined": false},)");
  // Allocations: 3 (stack 3), 2 (stack 2), then the ties by stack id: 1, 4.
  size_t allocations = json.find("\"allocations\": {\n      \"total_sites\": 4,");
  ASSERT_NE(allocations, std::string::npos) << json;
  size_t s3 = json.find("\"stack\": 3", allocations), s2 = json.find("\"stack\": 2", allocations);
  size_t s1 = json.find("\"stack\": 1", allocations), s4 = json.find("\"stack\": 4", allocations);
  EXPECT_LT(s3, s2);
  EXPECT_LT(s2, s1);
  EXPECT_LT(s1, s4);
  // Temporaries: one each for stacks 1 and 3.
  ExpectIn(json, "\"temporary\": {\n      \"total_sites\": 2,\n      \"sites\": [\n        {\n"
                 "          \"rank\": 1,\n          \"stack\": 1,");
  // Fewer sites and frames when asked.
  std::string short_json = Report(*a, {.sites_per_table = 1, .frames_per_site = 1});
  EXPECT_EQ(short_json.find("\"rank\": 2"), std::string::npos);
  int names = 0;
  for (size_t at = 0; (at = short_json.find("{\"name\": ", at)) != std::string::npos; ++at) {
    ++names;
  }
  EXPECT_EQ(names, 4) << short_json;  // one frame of one site in each of the four tables
}

TEST(JsonReport, HistogramsAndThreads) {
  TraceBuilder b;
  WriteScenario(b);
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  std::string json = Report(*a);
  ExpectIn(json, R"(
  "size_histogram": [
    {"min": 8, "max": 15, "blocks": 2, "bytes": 18},
    {"min": 16, "max": 31, "blocks": 1, "bytes": 20},
    {"min": 32, "max": 63, "blocks": 2, "bytes": 110},
    {"min": 64, "max": 127, "blocks": 1, "bytes": 100},
    {"min": 128, "max": 255, "blocks": 1, "bytes": 200}
  ],
  "lifetime_histogram": [
    {"min": 64, "max": 127, "blocks": 1, "bytes": 8},
    {"min": 128, "max": 255, "blocks": 0, "bytes": 0},
    {"min": 256, "max": 511, "blocks": 0, "bytes": 0},
    {"min": 512, "max": 1023, "blocks": 1, "bytes": 10},
    {"min": 1024, "max": 2047, "blocks": 0, "bytes": 0},
    {"min": 2048, "max": 4095, "blocks": 2, "bytes": 300},
    {"min": 4096, "max": 8191, "blocks": 1, "bytes": 50}
  ],
)");
  ExpectIn(json, R"(
  "threads": [
    {"thread": 1, "kernel_tid": 4242, "allocations": 6, "allocated_bytes": 440, "frees": 3, "temporary": 1},
    {"thread": 2, "kernel_tid": 4243, "allocations": 1, "allocated_bytes": 8, "frees": 1, "temporary": 1}
  ]
}
)");
}

// Times are since the process started (1000 ns here).
TEST(JsonReport, MemoryOverTimeAndMmapRegions) {
  TraceBuilder b;
  b.Frame(0, [](tf::FrameEncoder& e) {
    testutil::PutProgram(e, 77, 1000);
    e.PutModuleLoad({1000, 0x10000, 0x1000, "/bin/prog", ""});
    e.PutMemorySample({3000, 8 << 20, 2 << 20, 0, 0});
    e.PutMemorySample({6000, 5 << 20, 4 << 20, 0, 0});
  });
  b.Frame(1, [](tf::FrameEncoder& e) {
    e.PutStackNode({1, 0, 0x10100});
    e.PutAlloc({2000, 0xa0, 100, 1, tf::AllocKind::kMalloc});
    e.PutMmap({2500, 0x400000, 0x2000, 3, 0x22, -1, 1});
    e.PutAlloc({4000, 0xb0, 50, 1, tf::AllocKind::kMalloc});
    e.PutFree({5000, 0xa0});
    e.PutMunmap({7000, 0x400000, 0x2000});
    e.PutEnd({8000, 0});
  });
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  std::string json = Report(*a);
  ExpectIn(json, R"(
  "memory": {
    "peak_rss_bytes": 8388608,
    "peak_rss_time_ns": 2000,
    "peak_rss_huge_bytes": 2097152,
    "heap_timeline": [
      [1000, 100],
      [3000, 150],
      [4000, 50],
      [7000, 50]
    ],
    "samples": [
      {"time_ns": 2000, "rss_bytes": 8388608, "anon_huge_bytes": 2097152},
      {"time_ns": 5000, "rss_bytes": 5242880, "anon_huge_bytes": 4194304}
    ]
  },
  "mmap": {
    "mmaps": 1,
    "munmaps": 1,
    "mremaps": 0,
    "peak_bytes": 8192,
    "peak_time_ns": 1500,
    "live_bytes": 0,
    "live_regions": 0,
    "largest": [
      {
        "address": "0x400000",
        "length": 8192,
        "anonymous": true,
        "prot": 3,
        "flags": "0x22",
        "fd": -1,
        "mapped_ns": 1500,
        "unmapped_ns": 6000,
        "stack": 1,
        "frames_total": 1,
        "frames": [
          {"name": "prog+0x100", "address": "0x10100", "module": "/bin/prog", "offset": "0x100", "inlined": false}
        ]
      }
    ]
  },
)");
}

TEST(JsonReport, AnUnfinishedTraceHasANullExitStatusAndEmptyLists) {
  TraceBuilder b;
  b.Frame(0, [](tf::FrameEncoder& e) {
    tf::ProcessRecord p;
    p.pid = 5;
    p.executable = "/bin/\"odd\\name\"\n";
    p.engine = "libc";
    p.sample_bytes = 4096;
    e.PutProcess(p);
  });
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  std::string json = Report(*a);
  ExpectIn(json, R"("executable": "/bin/\"odd\\name\"\n",)");
  ExpectIn(json, R"("sampled": true,
    "sample_bytes": 4096)");
  ExpectIn(json, R"("ended": false,
    "exit_status": null,)");
  ExpectIn(json, R"("modules": [],)");
  ExpectIn(json, R"("peak": {
      "total_sites": 0,
      "sites": []
    },)");
  ExpectIn(json, "\"size_histogram\": [],\n  \"lifetime_histogram\": [],\n");
  ExpectIn(json, R"(
  "memory": {
    "peak_rss_bytes": 0,
    "peak_rss_time_ns": 0,
    "peak_rss_huge_bytes": 0,
    "heap_timeline": [
      [0, 0]
    ],
    "samples": []
  },
  "mmap": {
    "mmaps": 0,
    "munmaps": 0,
    "mremaps": 0,
    "peak_bytes": 0,
    "peak_time_ns": 0,
    "live_bytes": 0,
    "live_regions": 0,
    "largest": []
  },
  "threads": []
}
)");
}

TEST(JsonReport, StringsAreEscapedAndInvalidUtf8Replaced) {
  EXPECT_EQ(JsonQuote("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuote("a\"b\\c\n\t\x01\x7f"), R"("a\"b\\c\n\t\u0001\u007f")");
  EXPECT_EQ(JsonQuote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");         // UTF-8 kept
  EXPECT_EQ(JsonQuote("\xff" "x\xc3"), R"("\ufffdx\ufffd")");     // stray and cut sequences
  EXPECT_EQ(JsonQuote("\xc0\x80"), R"("\ufffd\ufffd")");          // overlong NUL
  EXPECT_EQ(JsonQuote("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // a surrogate
  EXPECT_EQ(JsonQuote("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");
}

TEST(TextReport, HistogramsSideBySideWithinOneHundredColumns) {
  TraceBuilder b;
  WriteScenario(b);
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  std::string text = FormatTextReport(*a, "t", ModuleOffsetNamer(*a));
  size_t start = text.find("\n  allocation sizes");
  ASSERT_NE(start, std::string::npos) << text;
  // A run of empty buckets takes one row (128 and 256 ns: nothing until 512 ns).
  EXPECT_EQ(text.substr(start + 1),
            "  allocation sizes (blocks by size)                 "
            "lifetimes (from allocation to free)\n"
            "       from     blocks  share                            from     blocks  share\n"
            "        8 B          2  28.6% ##################        64 ns          1  20.0% #########\n"
            "       16 B          1  14.3% #########                128 ns          0   0.0%\n"
            "       32 B          2  28.6% ##################       512 ns          1  20.0% #########\n"
            "       64 B          1  14.3% #########               1.02 us          0   0.0%\n"
            "      128 B          1  14.3% #########               2.05 us          2  40.0% ##################\n"
            "                                                      4.10 us          1  20.0% #########\n");
  for (size_t s = 0, e; (e = text.find('\n', s)) != std::string::npos; s = e + 1) {
    EXPECT_LE(e - s, 100u) << text.substr(s, e - s);
  }
}

}  // namespace
}  // namespace poolscope::analysis
