// The export formats (pprof, speedscope, chrome, dhat) on a hand-built trace, with literal
// expected figures; and the timeline the chrome export draws.
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cli_config.h"
#include "export_chrome.h"
#include "export_dhat.h"
#include "export_pprof.h"
#include "export_speedscope.h"
#include "gtest/gtest.h"
#include "poolscope/trace_format.h"
#include "summary.h"
#include "trace_builder.h"

namespace poolscope::analysis {
namespace {

namespace tf = trace_format;
using testutil::TraceBuilder;

constexpr uint64_t kStart = 1000000;  // the process's start, in trace timestamps

// Stack 1 = main, 2 = main->load, 3 = main->parse; a last allocation has no stack (0).
// In ns since the start:
//   1000 load A 100   2000 load B 200   3000 mark "parse", parse C 50 (peak: 350)
//   4000 free A       5000 rss 40960    6000 realloc B -> D 150 (parse)
//   7000 free C       8000 E 20 (no stack)   9000 rss 81920   10000 end
// Leaked: D (parse, 150) and E (20).
void WriteScenario(TraceBuilder& b) {
  b.Frame(0, [](tf::FrameEncoder& e) {
    testutil::PutProgram(e, 42, kStart);
    e.PutModuleLoad({kStart, 0x400000, 0x10000, "/bin/prog", "\x01\x02\xab"});
  });
  b.Frame(1, [](tf::FrameEncoder& e) {
    e.PutStackNode({1, 0, 0x401000});
    e.PutStackNode({2, 1, 0x402000});
    e.PutStackNode({3, 1, 0x403000});
    e.PutAlloc({kStart + 1000, 0xa0, 100, 2, tf::AllocKind::kMalloc});
    e.PutAlloc({kStart + 2000, 0xb0, 200, 2, tf::AllocKind::kMalloc});
    e.PutPhaseMark({kStart + 3000, "parse \"config\""});
    e.PutAlloc({kStart + 3000, 0xc0, 50, 3, tf::AllocKind::kMalloc});
    e.PutFree({kStart + 4000, 0xa0});
    e.PutMemorySample({kStart + 5000, 40960, 0, 0, 0});
    e.PutRealloc({kStart + 6000, 0xb0, 0xd0, 150, 3});
    e.PutFree({kStart + 7000, 0xc0});
    e.PutAlloc({kStart + 8000, 0xe0, 20, 0, tf::AllocKind::kMalloc});
    e.PutMemorySample({kStart + 9000, 81920, 0, 0, 0});
    e.PutEnd({kStart + 10000, 0});
  });
}

std::string Name(uint64_t address) {
  switch (address) {
    case 0x401000:
      return "main";
    case 0x402000:
      return "load";
    case 0x403000:
      return "parse";
  }
  return "?";
}

class Export : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteScenario(builder_);
    auto a = AnalyzeTrace(builder_.path());
    ASSERT_TRUE(a.ok()) << a.status();
    analysis_ = *std::move(a);
  }
  TraceBuilder builder_;
  TraceAnalysis analysis_;
  FrameNamer namer_ = Name;
};

TEST_F(Export, TheAnalysisKeepsTheTimelineAndPerSiteLifetimes) {
  const TraceAnalysis& a = analysis_;
  EXPECT_EQ(a.summary.peak_bytes, 350u);
  EXPECT_EQ(a.summary.leaked_bytes, 170u);
  EXPECT_EQ(a.heap_timeline, (std::vector<std::pair<uint64_t, uint64_t>>{{1000, 100},
                                                                         {2000, 300},
                                                                         {3000, 350},
                                                                         {4000, 250},
                                                                         {6000, 200},
                                                                         {7000, 150},
                                                                         {8000, 170},
                                                                         {10000, 170}}));
  ASSERT_EQ(a.memory_samples.size(), 2u);
  EXPECT_EQ(a.memory_samples[1].time_ns, 9000u);
  EXPECT_EQ(a.memory_samples[1].rss_bytes, 81920u);
  ASSERT_EQ(a.phase_marks.size(), 1u);
  EXPECT_EQ(a.phase_marks[0].time_ns, 3000u);
  EXPECT_EQ(a.phase_marks[0].name, "parse \"config\"");
  std::map<uint64_t, const SiteStats*> sites;
  for (const SiteStats& s : a.sites) sites[s.stack] = &s;
  ASSERT_EQ(sites.size(), 3u);
  EXPECT_EQ(sites[2]->max_live_bytes, 300u);
  EXPECT_EQ(sites[2]->max_live_blocks, 2u);
  EXPECT_EQ(sites[2]->total_lifetime_ns, 3000u + 4000u);
  EXPECT_EQ(sites[3]->max_live_bytes, 200u);  // C and D together
  EXPECT_EQ(sites[3]->max_live_blocks, 2u);
  EXPECT_EQ(sites[3]->total_lifetime_ns, 4000u + 4000u);  // D lives to the end
  EXPECT_EQ(sites[0]->total_lifetime_ns, 2000u);
}

TEST(Timeline, IsCutToTheLimitAndKeepsThePeakAndTheEnd) {
  TraceBuilder b;
  b.Frame(0, [](tf::FrameEncoder& e) {
    tf::ProcessRecord p;
    p.pid = 1;
    p.start_monotonic_ns = 0;
    e.PutProcess(p);
  });
  // 30000 allocations 1 µs apart, each freed 1 µs later; one of 5000 bytes in the middle.
  for (int part = 0; part < 30; ++part) {
    b.Frame(1, [&](tf::FrameEncoder& e) {
      for (int i = part * 1000; i < (part + 1) * 1000; ++i) {
        uint64_t t = 1000 * (2 * static_cast<uint64_t>(i) + 1);
        e.PutAlloc({t, 0x1000, i == 12345 ? 5000u : 10u, 0, tf::AllocKind::kMalloc});
        e.PutFree({t + 1000, 0x1000});
      }
    });
  }
  b.Frame(1, [](tf::FrameEncoder& e) {
    e.PutAlloc({100000000, 0x2000, 7, 0, tf::AllocKind::kMalloc});
  });
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  const auto& t = a->heap_timeline;
  EXPECT_LE(t.size(), kTimelinePoints);
  EXPECT_GT(t.size(), kTimelinePoints / 4);
  EXPECT_TRUE(std::is_sorted(t.begin(), t.end()));
  uint64_t highest = 0;
  for (const auto& [ns, bytes] : t) highest = std::max(highest, bytes);
  EXPECT_EQ(highest, 5000u);
  EXPECT_EQ(a->summary.peak_bytes, 5000u);
  EXPECT_EQ(t.back(), (std::pair<uint64_t, uint64_t>{100000000, 7}));
}

// ---------------------------------------------------------------------------------------------
// pprof: gunzip, then decode the wire format (fields as varints or byte strings).

std::string Gunzip(const std::string& data) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

struct Field {
  uint64_t number;
  uint64_t varint = 0;
  std::string bytes;
};

uint64_t ReadVarint(const std::string& s, size_t& i) {
  uint64_t v = 0;
  for (int shift = 0; i < s.size(); shift += 7) {
    uint8_t b = static_cast<uint8_t>(s[i++]);
    v |= uint64_t{b & 0x7fu} << shift;
    if (b < 0x80) return v;
  }
  ADD_FAILURE() << "truncated varint";
  return v;
}

std::vector<Field> Decode(const std::string& s) {
  std::vector<Field> fields;
  for (size_t i = 0; i < s.size();) {
    uint64_t key = ReadVarint(s, i);
    Field f{};
    f.number = key >> 3;
    if ((key & 7) == 0) {
      f.varint = ReadVarint(s, i);
    } else if ((key & 7) == 2) {
      uint64_t n = ReadVarint(s, i);
      f.bytes = s.substr(i, n);
      i += n;
    } else {
      ADD_FAILURE() << "unexpected wire type " << (key & 7);
      break;
    }
    fields.push_back(std::move(f));
  }
  return fields;
}

std::vector<uint64_t> Packed(const std::string& s) {
  std::vector<uint64_t> values;
  for (size_t i = 0; i < s.size();) values.push_back(ReadVarint(s, i));
  return values;
}

uint64_t Get(const std::vector<Field>& fields, uint64_t number) {
  for (const Field& f : fields) {
    if (f.number == number) return f.varint;
  }
  return 0;
}

TEST_F(Export, PprofCarriesFourValuesPerSiteAndTheStrings) {
  std::string gz = ExportPprof(analysis_, namer_);
  ASSERT_GE(gz.size(), 2u);
  EXPECT_EQ(static_cast<uint8_t>(gz[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<uint8_t>(gz[1]), 0x8b);
  std::string raw = Gunzip(gz);
  EXPECT_EQ(raw, EncodePprof(analysis_, namer_));
  std::vector<Field> profile = Decode(raw);

  std::vector<std::string> strings;
  for (const Field& f : profile) {
    if (f.number == 6) strings.push_back(f.bytes);
  }
  ASSERT_FALSE(strings.empty());
  EXPECT_EQ(strings[0], "");
  auto str = [&](uint64_t i) { return i < strings.size() ? strings[i] : "<bad index>"; };

  std::vector<std::string> types;
  std::map<uint64_t, std::string> function_names;  // id -> name
  std::map<uint64_t, uint64_t> location_function;  // location id -> function id
  std::map<uint64_t, uint64_t> location_address;
  std::map<uint64_t, uint64_t> location_mapping;
  std::vector<std::pair<std::vector<uint64_t>, std::vector<uint64_t>>> samples;
  int mappings = 0;
  for (const Field& f : profile) {
    std::vector<Field> m;
    if (f.number >= 1 && f.number <= 5) m = Decode(f.bytes);  // the nested messages
    switch (f.number) {
      case 1:
        types.push_back(str(Get(m, 1)) + "/" + str(Get(m, 2)));
        break;
      case 2: {
        std::vector<uint64_t> locations, values;
        for (const Field& g : m) {
          if (g.number == 1) locations = Packed(g.bytes);
          if (g.number == 2) values = Packed(g.bytes);
        }
        samples.emplace_back(locations, values);
        break;
      }
      case 3:
        ++mappings;
        EXPECT_EQ(Get(m, 1), 1u);
        EXPECT_EQ(Get(m, 2), 0x400000u);
        EXPECT_EQ(Get(m, 3), 0x410000u);
        EXPECT_EQ(str(Get(m, 5)), "/bin/prog");
        EXPECT_EQ(str(Get(m, 6)), "0102ab");
        break;
      case 4:
        location_address[Get(m, 1)] = Get(m, 3);
        location_mapping[Get(m, 1)] = Get(m, 2);
        for (const Field& g : m) {
          if (g.number == 4) location_function[Get(m, 1)] = Get(Decode(g.bytes), 1);
        }
        break;
      case 5:
        function_names[Get(m, 1)] = str(Get(m, 2));
        break;
      case 10:
        EXPECT_EQ(f.varint, 10000u);  // duration_nanos
        break;
    }
  }
  EXPECT_EQ(types, (std::vector<std::string>{"alloc_objects/count", "alloc_space/bytes",
                                             "inuse_objects/count", "inuse_space/bytes"}));
  EXPECT_EQ(mappings, 1);
  EXPECT_EQ(location_address.size(), 4u);  // three frames and the unknown stack
  EXPECT_EQ(function_names.size(), 4u);
  // Each sample's stack by name, innermost first, with its values.
  std::map<std::string, std::vector<uint64_t>> by_stack;
  std::vector<uint64_t> totals(4);
  for (const auto& [locations, values] : samples) {
    std::string stack;
    for (uint64_t id : locations) {
      stack += (stack.empty() ? "" : ";") + function_names[location_function[id]];
      if (location_address[id] != 0) {
        EXPECT_EQ(location_mapping[id], 1u);
      }
    }
    by_stack[stack] = values;
    ASSERT_EQ(values.size(), 4u);
    for (int i = 0; i < 4; ++i) totals[i] += values[i];
  }
  EXPECT_EQ(by_stack["load;main"], (std::vector<uint64_t>{2, 300, 0, 0}));
  EXPECT_EQ(by_stack["parse;main"], (std::vector<uint64_t>{2, 200, 1, 150}));
  EXPECT_EQ(by_stack["[unknown stack]"], (std::vector<uint64_t>{1, 20, 1, 20}));
  // The report's totals: allocations and reallocations, bytes allocated, leaked.
  EXPECT_EQ(totals, (std::vector<uint64_t>{5, 520, 2, 170}));
}

// ---------------------------------------------------------------------------------------------

TEST_F(Export, SpeedscopeHasAProfilePerMetricOverSharedFrames) {
  EXPECT_EQ(
      ExportSpeedscope(analysis_, namer_),
      "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n"
      "\"name\":\"/bin/prog (pid 42)\",\n"
      "\"exporter\":\"poolscope " POOLSCOPE_VERSION
      "\",\n"
      "\"activeProfileIndex\":0,\n"
      "\"shared\":{\"frames\":[\n"
      "{\"name\":\"[unknown stack]\"},\n"
      "{\"name\":\"main\"},\n"
      "{\"name\":\"load\"},\n"
      "{\"name\":\"parse\"}\n"
      "]},\n"
      "\"profiles\":[\n"
      "{\"type\":\"sampled\",\"name\":\"allocated bytes\",\"unit\":\"bytes\",\"startValue\":0,"
      "\"endValue\":520,\n\"samples\":[[0],[1,2],[1,3]],\n\"weights\":[20,300,200]},\n"
      "{\"type\":\"sampled\",\"name\":\"allocations\",\"unit\":\"none\",\"startValue\":0,"
      "\"endValue\":5,\n\"samples\":[[0],[1,2],[1,3]],\n\"weights\":[1,2,2]},\n"
      "{\"type\":\"sampled\",\"name\":\"heap at the peak\",\"unit\":\"bytes\",\"startValue\":0,"
      "\"endValue\":350,\n\"samples\":[[1,2],[1,3]],\n\"weights\":[300,50]},\n"
      "{\"type\":\"sampled\",\"name\":\"leaked bytes\",\"unit\":\"bytes\",\"startValue\":0,"
      "\"endValue\":170,\n\"samples\":[[0],[1,3]],\n\"weights\":[20,150]}\n"
      "]}\n");
}

TEST_F(Export, ChromeHasHeapAndRssCountersAndPhaseMarks) {
  auto counter = [](const char* name, const char* ts, int bytes) {
    return "{\"name\":\"" + std::string(name) + "\",\"ph\":\"C\",\"ts\":" + ts +
           ",\"pid\":42,\"tid\":0,\"args\":{\"bytes\":" + std::to_string(bytes) + "}},\n";
  };
  EXPECT_EQ(ExportChrome(analysis_, namer_),
            "{\"displayTimeUnit\":\"ms\",\n"
            "\"otherData\":{\"exporter\":\"poolscope " POOLSCOPE_VERSION
            "\",\"executable\":\"/bin/prog\"},\n"
            "\"traceEvents\":[\n"
            "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":42,\"tid\":0,"
            "\"args\":{\"name\":\"/bin/prog\"}},\n" +
                counter("heap", "1.000", 100) + counter("heap", "2.000", 300) +
                counter("heap", "3.000", 350) + counter("heap", "4.000", 250) +
                counter("heap", "6.000", 200) + counter("heap", "7.000", 150) +
                counter("heap", "8.000", 170) + counter("heap", "10.000", 170) +
                counter("rss", "5.000", 40960) + counter("rss", "9.000", 81920) +
                "{\"name\":\"parse \\\"config\\\"\",\"cat\":\"phase\",\"ph\":\"i\",\"s\":\"g\","
                "\"ts\":3.000,\"pid\":42,\"tid\":0},\n"
                "{\"name\":\"peak heap\",\"cat\":\"poolscope\",\"ph\":\"i\",\"s\":\"p\","
                "\"ts\":3.000,\"pid\":42,\"tid\":0,\"args\":{\"bytes\":350,\"top_site\":\"load\","
                "\"top_site_bytes\":300}}\n"
                "]}\n");
}

TEST_F(Export, DhatHasAProgramPointPerSite) {
  EXPECT_EQ(ExportDhat(analysis_, namer_),
            "{\"dhatFileVersion\":2\n"
            ",\"mode\":\"heap\"\n"
            ",\"verb\":\"Allocated\"\n"
            ",\"bklt\":true\n"
            ",\"bkacc\":false\n"
            ",\"tu\":\"\\u00b5s\"\n"
            ",\"Mtu\":\"s\"\n"
            ",\"tuth\":10\n"
            ",\"cmd\":\"/bin/prog\"\n"
            ",\"pid\":42\n"
            ",\"tg\":3\n"
            ",\"te\":10\n"
            ",\"pps\":\n"
            "[{\"tb\":20,\"tbk\":1,\"tl\":2,\"mb\":20,\"mbk\":1,\"gb\":0,\"gbk\":0,\"eb\":20,"
            "\"ebk\":1,\"fs\":[1]}\n"
            ",{\"tb\":300,\"tbk\":2,\"tl\":7,\"mb\":300,\"mbk\":2,\"gb\":300,\"gbk\":2,\"eb\":0,"
            "\"ebk\":0,\"fs\":[2,3]}\n"
            ",{\"tb\":200,\"tbk\":2,\"tl\":8,\"mb\":200,\"mbk\":2,\"gb\":50,\"gbk\":1,\"eb\":150,"
            "\"ebk\":1,\"fs\":[4,3]}\n"
            "]\n"
            ",\"ftbl\":\n"
            "[\"[root]\"\n"
            ",\"[unknown stack]\"\n"
            ",\"0x402000: load\"\n"
            ",\"0x401000: main\"\n"
            ",\"0x403000: parse\"\n"
            "]\n"
            "}\n");
}

}  // namespace
}  // namespace poolscope::analysis
