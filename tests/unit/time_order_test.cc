// Reading a trace in time order across threads, whatever order the frames were written in.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "poolscope/trace_format.h"
#include "summary.h"
#include "trace_builder.h"
#include "trace_reader.h"

namespace poolscope::analysis {
namespace {

namespace tf = trace_format;
using testutil::TraceBuilder;

class Timeline : public tf::RecordVisitor {
 public:
  std::vector<std::string> events;
  void OnAlloc(uint32_t t, const tf::AllocRecord& r) override {
    events.push_back(absl::StrCat("a", t, "@", r.timestamp_ns));
  }
  void OnFree(uint32_t t, const tf::FreeRecord& r) override {
    events.push_back(absl::StrCat("f", t, "@", r.timestamp_ns));
  }
};

// Thread 2's frame (later events) is written before thread 1's; thread 1 frees what thread 2
// allocated... in the order the threads really ran: 1 allocates X at 10, 2 frees X at 20,
// 2 allocates Y at 30, 1 allocates Z at 40 and frees Y at 50.
void WriteInterleaved(TraceBuilder& b) {
  b.Frame(2, [](tf::FrameEncoder& e) {
    e.PutFree({20, 0x100});
    e.PutAlloc({30, 0x200, 64, 0, tf::AllocKind::kMalloc});
  });
  b.Frame(1, [](tf::FrameEncoder& e) {
    e.PutAlloc({10, 0x100, 32, 0, tf::AllocKind::kMalloc});
    e.PutAlloc({40, 0x300, 16, 0, tf::AllocKind::kMalloc});
    e.PutFree({50, 0x200});
  });
}

TEST(TimeOrder, ThreadsAreMergedByTimestamp) {
  TraceBuilder b;
  WriteInterleaved(b);
  Timeline file_order, time_order;
  ASSERT_TRUE(ReadTrace(b.path(), file_order).ok());
  auto summary = ReadTraceInTimeOrder(b.path(), time_order);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->frames, 2u);
  EXPECT_EQ(file_order.events,
            (std::vector<std::string>{"f2@20", "a2@30", "a1@10", "a1@40", "f1@50"}));
  EXPECT_EQ(time_order.events,
            (std::vector<std::string>{"a1@10", "f2@20", "a2@30", "a1@40", "f1@50"}));
}

TEST(TimeOrder, CrossThreadFreesWrittenEarlyAreNotLeaks) {
  TraceBuilder b;
  WriteInterleaved(b);
  auto summary = SummarizeTrace(b.path());
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->leaked_bytes, 16u);  // only Z
  EXPECT_EQ(summary->leaked_blocks, 1u);
  EXPECT_EQ(summary->peak_bytes, 80u);    // Y and Z at 40
}

TEST(TimeOrder, ManyFramesPerThreadStayInOrder) {
  TraceBuilder b;
  // Three threads, five frames each, written round-robin; timestamps interleave.
  for (int frame = 0; frame < 5; ++frame) {
    for (uint32_t t = 1; t <= 3; ++t) {
      b.Frame(t, [&](tf::FrameEncoder& e) {
        for (int i = 0; i < 4; ++i) {
          uint64_t ts = 1000 + frame * 100 + i * 10 + t;
          e.PutAlloc({ts, 0x1000 * t + frame * 16 + i, 8, 0, tf::AllocKind::kMalloc});
        }
      });
    }
  }
  Timeline time_order;
  ASSERT_TRUE(ReadTraceInTimeOrder(b.path(), time_order).ok());
  ASSERT_EQ(time_order.events.size(), 60u);
  uint64_t previous = 0;
  for (const std::string& e : time_order.events) {
    uint64_t ts = std::stoull(e.substr(e.find('@') + 1));
    EXPECT_GE(ts, previous) << e;
    previous = ts;
  }
}

}  // namespace
}  // namespace poolscope::analysis
