// Round trips through the one encoder and writer of the format and the streaming reader, and
// the reader's behaviour on damaged files.
#include "poolscope/trace_format.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "trace/trace_file.h"
#include "trace_reader.h"

namespace poolscope::trace_format {
namespace {

using analysis::ReadTrace;

// Collects everything it is shown, as text lines, so tests compare whole sequences.
class Collector : public RecordVisitor {
 public:
  std::vector<std::string> lines;
  template <typename... Args>
  void Add(Args... args) {
    std::string s;
    ((s += std::to_string(args) + " "), ...);
    lines.push_back(s);
  }
  void OnProcess(uint32_t t, const ProcessRecord& r) override {
    Add(0, t, r.pid, r.parent_pid, r.exec_generation, r.mpi_rank, r.page_size, r.huge_page_size,
        r.start_realtime_ns, r.start_monotonic_ns, r.sample_bytes);
    lines.back() += std::string(r.executable) + "|" + std::string(r.command_line) + "|" +
                    std::string(r.host) + "|" + std::string(r.engine);
  }
  void OnThreadStart(uint32_t t, const ThreadRecord& r) override { Add(1, t, r.timestamp_ns, r.kernel_tid); }
  void OnThreadExit(uint32_t t, const ThreadRecord& r) override { Add(2, t, r.timestamp_ns, r.kernel_tid); }
  void OnModuleLoad(uint32_t t, const ModuleRecord& r) override {
    Add(3, t, r.timestamp_ns, r.load_address, r.size);
    lines.back() += std::string(r.path) + "|" + std::string(r.build_id);
  }
  void OnModuleUnload(uint32_t t, const ModuleRecord& r) override {
    Add(4, t, r.timestamp_ns, r.load_address, r.size);
  }
  void OnStackNode(uint32_t t, const StackNodeRecord& r) override { Add(5, t, r.id, r.parent, r.return_address); }
  void OnAlloc(uint32_t t, const AllocRecord& r) override {
    Add(6, t, r.timestamp_ns, r.address, r.size, r.stack, static_cast<int>(r.kind));
  }
  void OnSampledAlloc(uint32_t t, const AllocRecord& r) override {
    Add(7, t, r.timestamp_ns, r.address, r.size, r.stack, static_cast<int>(r.kind), r.weight);
  }
  void OnFree(uint32_t t, const FreeRecord& r) override { Add(8, t, r.timestamp_ns, r.address); }
  void OnRealloc(uint32_t t, const ReallocRecord& r) override {
    Add(9, t, r.timestamp_ns, r.old_address, r.new_address, r.size, r.stack);
  }
  void OnMmap(uint32_t t, const MmapRecord& r) override {
    Add(10, t, r.timestamp_ns, r.address, r.length, r.prot, r.flags, r.fd, r.stack);
  }
  void OnMunmap(uint32_t t, const MunmapRecord& r) override { Add(11, t, r.timestamp_ns, r.address, r.length); }
  void OnMremap(uint32_t t, const MremapRecord& r) override {
    Add(12, t, r.timestamp_ns, r.old_address, r.old_length, r.new_address, r.new_length);
  }
  void OnPhaseMark(uint32_t t, const PhaseMarkRecord& r) override {
    Add(13, t, r.timestamp_ns);
    lines.back() += std::string(r.name);
  }
  void OnMemorySample(uint32_t t, const MemorySampleRecord& r) override {
    Add(14, t, r.timestamp_ns, r.rss_bytes, r.anon_huge_bytes, r.heap_huge_bytes, r.heap_rss_bytes);
  }
  void OnEnd(uint32_t t, const EndRecord& r) override { Add(15, t, r.timestamp_ns, r.exit_status); }
  void OnCapReached(uint32_t t, const CapReachedRecord& r) override {
    Add(16, t, r.timestamp_ns, static_cast<int>(r.cap));
  }
};

std::string TempPath() {
  char path[] = "/tmp/poolscope-trace-test.XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  return path;
}

// Writes frames of records; `fill` is called once per frame with a fresh encoder.
template <typename Fill>
std::string WriteTrace(int frames, Fill fill) {
  std::string path = TempPath();
  int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
  trace::TraceFileWriter writer;
  EXPECT_TRUE(writer.Open(fd));
  std::vector<uint8_t> buffer(1 << 16);
  for (int i = 0; i < frames; ++i) {
    FrameEncoder encoder(buffer.data(), buffer.size());
    uint32_t thread = fill(encoder, i);
    EXPECT_TRUE(writer.WriteFrame(thread, encoder.data(), encoder.size()));
  }
  close(fd);
  return path;
}

uint32_t EveryRecordType(FrameEncoder& e, int frame) {
  uint64_t t = 1'000'000'000ULL * (frame + 1);
  EXPECT_TRUE(e.PutProcess({4242, 1, 2, "/usr/bin/prog", std::string_view("prog\0-x", 7), "host",
                            3, "pool", 4096, 2 << 20, 1700000000000000000ULL, t, 524288}));
  EXPECT_TRUE(e.PutThreadStart({t + 1, 777}));
  EXPECT_TRUE(e.PutModuleLoad({t + 2, 0x7f0000000000, 1 << 20, "/lib/libc.so.6",
                               std::string_view("\x01\x02\x00\xff", 4)}));
  EXPECT_TRUE(e.PutStackNode({1, 0, 0x401000}));
  EXPECT_TRUE(e.PutStackNode({2, 1, 0x401234}));
  EXPECT_TRUE(e.PutAlloc({t + 10, 0x7f1200001000, 64, 2, AllocKind::kNew}));
  EXPECT_TRUE(e.PutAlloc({t + 11, 0x7f1200000f00, 1ULL << 40, 1, AllocKind::kCalloc}));
  EXPECT_TRUE(e.PutSampledAlloc({t + 12, 0x10, 100, 2, AllocKind::kMalloc, 524288}));
  EXPECT_TRUE(e.PutRealloc({t + 13, 0x7f1200001000, 0x7f1300000000, 4096, 1}));
  EXPECT_TRUE(e.PutFree({t + 14, 0x7f1300000000}));
  EXPECT_TRUE(e.PutMmap({t + 15, 0x7f5000000000, 8192, 3, 0x22, -1, 2}));
  EXPECT_TRUE(e.PutMremap({t + 16, 0x7f5000000000, 8192, 0x7f6000000000, 16384}));
  EXPECT_TRUE(e.PutMunmap({t + 17, 0x7f6000000000, 16384}));
  EXPECT_TRUE(e.PutPhaseMark({t + 18, "load phase"}));
  EXPECT_TRUE(e.PutMemorySample({t + 19, 1 << 30, 1 << 29, 1 << 28, 1 << 27}));
  EXPECT_TRUE(e.PutCapReached({t + 20, Cap::kStackTable}));
  EXPECT_TRUE(e.PutModuleUnload({t + 21, 0x7f0000000000, 1 << 20, "/lib/libc.so.6", ""}));
  EXPECT_TRUE(e.PutThreadExit({t + 22, 777}));
  // Time may go backwards between records of one frame (timestamps come from several clocks
  // reads): deltas are signed.
  EXPECT_TRUE(e.PutFree({t + 5, 0x7f1200000f00}));
  EXPECT_TRUE(e.PutEnd({t + 23, -9}));
  return static_cast<uint32_t>(frame + 1);
}

TEST(TraceFormat, EveryRecordTypeRoundTrips) {
  std::string path = WriteTrace(3, EveryRecordType);
  Collector got;
  auto summary = ReadTrace(path, got);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->frames, 3u);
  EXPECT_EQ(summary->corrupt_frames, 0u);
  EXPECT_FALSE(summary->truncated);
  EXPECT_EQ(summary->major, kMajorVersion);
  EXPECT_TRUE(summary->unknown_record_types.empty());

  // The expected sequence: the same calls into a collector directly.
  std::vector<uint8_t> buffer(1 << 16);
  Collector want;
  for (int i = 0; i < 3; ++i) {
    FrameEncoder e(buffer.data(), buffer.size());
    uint32_t thread = EveryRecordType(e, i);
    ASSERT_EQ(DecodeFrame(thread, e.data(), e.size(), want), DecodeResult::kOk);
  }
  ASSERT_EQ(got.lines.size(), 3u * 20);
  EXPECT_EQ(got.lines, want.lines);
  EXPECT_EQ(got.lines[0],
            "0 1 4242 1 2 3 4096 2097152 1700000000000000000 1000000000 524288 "
            "/usr/bin/prog|prog" + std::string(1, '\0') + "-x|host|pool");
  EXPECT_EQ(got.lines[5], "6 1 1000000010 139715286142976 64 2 3 ");
  EXPECT_EQ(got.lines[19], "15 1 1000000023 -9 ");
  std::remove(path.c_str());
}

// Allocations named by block: thread 3 numbers its blocks on from frame to frame; frees and
// reallocs name them as local, remote (another thread's) or by address.
TEST(TraceFormat, BlockNumberedRecordsRoundTripAcrossFrames) {
  std::string path = TempPath();
  int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
  trace::TraceFileWriter writer;
  ASSERT_TRUE(writer.Open(fd));
  std::vector<uint8_t> buffer(1 << 16);
  FrameEncoder e(buffer.data(), buffer.size(), 3);
  e.set_next_seq(100);
  ASSERT_TRUE(e.PutNextAlloc(1000, 24, 5, AllocKind::kMalloc));           // block (3, 100)
  ASSERT_TRUE(e.PutNextAlloc(1000, 4096, 6, AllocKind::kNew, 524288));    // sampled: (3, 101)
  ASSERT_TRUE(e.PutFreeOf(2024, BlockKey(3, 100)));
  ASSERT_TRUE(writer.WriteFrame(3, e.data(), e.size()));
  e.Reset();
  EXPECT_EQ(e.next_seq(), 102u);
  ASSERT_TRUE(e.PutReallocOf(3048, BlockKey(3, 101), 8192, 6));  // (3, 101) -> (3, 102)
  ASSERT_TRUE(e.PutFreeOf(3048, BlockKey(7, 5)));                 // another thread's blocks
  ASSERT_TRUE(e.PutFreeOf(3048, BlockKey(7, 4)));
  ASSERT_TRUE(e.PutFreeOf(4072, 0x7f0000001230));                 // a block never numbered
  ASSERT_TRUE(e.PutNextAlloc(4072, 1, 0, AllocKind::kAligned));   // (3, 103)
  ASSERT_TRUE(e.PutFreeOf(5096, BlockKey(3, 102)));
  ASSERT_TRUE(writer.WriteFrame(3, e.data(), e.size()));
  close(fd);

  Collector c;
  auto summary = ReadTrace(path, c);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->corrupt_frames, 0u);
  auto key = [](uint32_t thread, uint64_t seq) { return std::to_string(BlockKey(thread, seq)); };
  EXPECT_EQ(c.lines, (std::vector<std::string>{
                         "6 3 1000 " + key(3, 100) + " 24 5 0 ",
                         "7 3 1000 " + key(3, 101) + " 4096 6 3 524288 ",
                         "8 3 2024 " + key(3, 100) + " ",
                         "9 3 3048 " + key(3, 101) + " " + key(3, 102) + " 8192 6 ",
                         "8 3 3048 " + key(7, 5) + " ",
                         "8 3 3048 " + key(7, 4) + " ",
                         "8 3 4072 " + std::to_string(0x7f0000001230) + " ",
                         "6 3 4072 " + key(3, 103) + " 1 0 2 ",
                         "8 3 5096 " + key(3, 102) + " ",
                     }));
  std::remove(path.c_str());
}

// Frees of a thread's own blocks in every order: by distance back or by step from the
// previous one, whichever the encoder picks, the reader gets the same blocks.
TEST(TraceFormat, LocalBlockReferencesRoundTripInAnyOrder) {
  std::vector<uint8_t> buffer(1 << 16);
  FrameEncoder e(buffer.data(), buffer.size(), 4);
  e.set_next_seq(7);
  std::vector<uint64_t> order;
  for (uint64_t i = 0; i < 300; ++i) ASSERT_TRUE(e.PutNextAlloc(i, 16, 1, AllocKind::kMalloc));
  for (uint64_t i = 0; i < 100; ++i) order.push_back(7 + i);        // in allocation order
  for (uint64_t i = 199; i >= 100; --i) order.push_back(7 + i);     // newest first
  for (uint64_t i = 0; i < 100; ++i) order.push_back(7 + 200 + (i * 37) % 100);  // scattered
  for (uint64_t seq : order) ASSERT_TRUE(e.PutFreeOf(400, BlockKey(4, seq)));
  Collector c;
  ASSERT_EQ(DecodeFrame(4, e.data(), e.size(), c), DecodeResult::kOk);
  ASSERT_EQ(c.lines.size(), 600u);
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(c.lines[300 + i], "8 4 400 " + std::to_string(BlockKey(4, order[i])) + " ") << i;
  }
}

TEST(TraceFormat, BlockKeysNeverLookLikeAddresses) {
  uint64_t key = BlockKey(kMaxBlockThread, kBlockSeqMask);
  EXPECT_TRUE(IsBlockKey(key));
  EXPECT_EQ(BlockThread(key), kMaxBlockThread);
  EXPECT_EQ(BlockSeq(key), kBlockSeqMask);
  EXPECT_FALSE(IsBlockKey(0x7fffffffffffULL));  // the top of user space
}

TEST(TraceFormat, ABrokenBlockReferenceMakesTheFrameMalformed) {
  std::vector<uint8_t> buffer(1024);
  FrameEncoder e(buffer.data(), buffer.size(), 2);
  // A local reference to a block numbered before the thread's first: impossible.
  ASSERT_TRUE(e.PutNextAlloc(1, 8, 0, AllocKind::kMalloc));
  ASSERT_TRUE(e.PutFreeOf(2, BlockKey(2, 0)));
  std::vector<uint8_t> frame(e.data(), e.data() + e.size());
  // The ref stream is last: its one byte says "local, 1 back". Make it 5 back.
  frame.back() = 5 << 2;
  Collector c;
  EXPECT_EQ(DecodeFrame(2, frame.data(), frame.size(), c), DecodeResult::kMalformed);
  EXPECT_EQ(c.lines.size(), 1u);  // the allocation before it was delivered
}

TEST(TraceFormat, VarintsRoundTripAtEveryLength) {
  for (uint64_t v : {0ULL, 1ULL, 127ULL, 128ULL, 16383ULL, 16384ULL, (1ULL << 35) - 1,
                     1ULL << 56, ~0ULL}) {
    uint8_t buf[kMaxVarintBytes];
    uint8_t* end = PutVarint(buf, v);
    const uint8_t* in = buf;
    uint64_t back = 0;
    ASSERT_TRUE(GetVarint(&in, end, &back));
    EXPECT_EQ(back, v);
    EXPECT_EQ(in, end);
    const uint8_t* cut = buf;
    if (end - buf > 1) {
      EXPECT_FALSE(GetVarint(&cut, end - 1, &back)) << v;
    }
  }
  for (int64_t v : std::initializer_list<int64_t>{0, -1, 1, INT64_MIN, INT64_MAX}) {
    EXPECT_EQ(UnZigZag(ZigZag(v)), v);
  }
}

TEST(TraceFormat, EncoderRefusesRecordsThatDoNotFitAndKeepsItsState) {
  uint8_t small[40];
  FrameEncoder e(small, sizeof(small));
  EXPECT_FALSE(e.PutAlloc({1, 2, 3, 4, AllocKind::kMalloc}));
  EXPECT_EQ(e.size(), 0u);
  std::vector<uint8_t> big(1 << 12);
  FrameEncoder ok(big.data(), big.size());
  std::string long_name(5000, 'x');
  EXPECT_FALSE(ok.PutPhaseMark({1, long_name}));
  EXPECT_TRUE(ok.PutFree({100, 0x1000}));
  Collector c;
  ASSERT_EQ(DecodeFrame(0, ok.data(), ok.size(), c), DecodeResult::kOk);
  EXPECT_EQ(c.lines, std::vector<std::string>{"8 0 100 4096 "});
}

TEST(TraceFormat, UnknownRecordTypesAreSkippedAndReported) {
  std::string path = WriteTrace(1, [](FrameEncoder& e, int) {
    e.PutFree({5, 0x10});
    const uint8_t payload[] = {1, 2, 3};
    e.PutRaw(999, payload, sizeof(payload));
    e.PutFree({6, 0x20});
    return 0u;
  });
  Collector c;
  auto summary = ReadTrace(path, c);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->unknown_record_types, std::set<uint64_t>{999});
  EXPECT_EQ(c.lines, (std::vector<std::string>{"8 0 5 16 ", "8 0 6 32 "}));
  std::remove(path.c_str());
}

TEST(TraceFormat, MissingTrailingFieldsFromAnOlderWriterReadAsZero) {
  // An Alloc record with only timestamp and address, as a hypothetical older minor wrote it.
  uint8_t payload[8];
  uint8_t* p = PutVarint(payload, ZigZag(7));
  p = PutVarint(p, ZigZag(0x40));
  std::vector<uint8_t> buffer(1024);
  FrameEncoder e(buffer.data(), buffer.size());
  e.PutRaw(static_cast<uint32_t>(RecordType::kAlloc), payload, static_cast<size_t>(p - payload));
  Collector c;
  ASSERT_EQ(DecodeFrame(2, e.data(), e.size(), c), DecodeResult::kOk);
  EXPECT_EQ(c.lines, std::vector<std::string>{"6 2 7 64 0 0 0 "});
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(TraceReader, TruncatedFileIsReadToItsLastCompleteFrame) {
  std::string path = WriteTrace(4, EveryRecordType);
  std::string whole = ReadFile(path);
  Collector all;
  ASSERT_TRUE(ReadTrace(path, all).ok());
  // Cut everywhere inside the last frame: three frames survive, flagged truncated.
  auto last = whole.rfind(std::string(reinterpret_cast<const char*>(&kFrameMagic), 4));
  for (size_t cut = last + 1; cut < whole.size(); cut += 7) {
    WriteFile(path, whole.substr(0, cut));
    Collector c;
    auto summary = ReadTrace(path, c);
    ASSERT_TRUE(summary.ok());
    EXPECT_TRUE(summary->truncated) << cut;
    EXPECT_EQ(summary->frames, 3u) << cut;
    EXPECT_EQ(c.lines, std::vector<std::string>(all.lines.begin(), all.lines.begin() + 60));
  }
  std::remove(path.c_str());
}

TEST(TraceReader, CorruptFrameInTheMiddleIsSkippedAndCounted) {
  std::string path = WriteTrace(5, EveryRecordType);
  std::string whole = ReadFile(path);
  // Flip one bit in each byte position of frame 2's compressed data, one at a time.
  std::vector<size_t> starts;
  for (size_t at = whole.find(std::string(reinterpret_cast<const char*>(&kFrameMagic), 4));
       at != std::string::npos;
       at = whole.find(std::string(reinterpret_cast<const char*>(&kFrameMagic), 4), at + 1)) {
    starts.push_back(at);
  }
  ASSERT_GE(starts.size(), 5u);
  Collector all;
  ASSERT_TRUE(ReadTrace(path, all).ok());
  std::vector<std::string> without_frame_2 = all.lines;
  without_frame_2.erase(without_frame_2.begin() + 40, without_frame_2.begin() + 60);
  int detected = 0;
  for (size_t at = starts[2]; at < starts[3]; at += 3) {
    std::string damaged = whole;
    damaged[at] ^= 0x10;
    WriteFile(path, damaged);
    Collector c;
    auto summary = ReadTrace(path, c);
    ASSERT_TRUE(summary.ok()) << at;
    EXPECT_FALSE(summary->truncated) << at;
    // Either the damage is caught and exactly that frame is dropped, or it touched a byte that
    // changes nothing decoded (some zstd header bits): never are wrong records delivered.
    if (summary->corrupt_frames > 0) {
      ++detected;
      EXPECT_EQ(summary->frames, 4u) << at;
      EXPECT_EQ(c.lines, without_frame_2) << at;
    } else {
      EXPECT_EQ(c.lines, all.lines) << at;
    }
  }
  EXPECT_GT(detected, static_cast<int>((starts[3] - starts[2]) / 3 * 9 / 10));
  std::remove(path.c_str());
}

TEST(TraceReader, ForeignFileAndNewerMajorAreErrorsWithOneLine) {
  std::string path = TempPath();
  WriteFile(path, "#!/bin/sh\necho not a trace\n");
  Collector c;
  auto foreign = ReadTrace(path, c);
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.status().message(), path + ": not a poolscope trace");

  FileHeader header{};
  memcpy(header.magic, kFileMagic, 8);
  header.major = kMajorVersion + 1;
  WriteFile(path, std::string(reinterpret_cast<char*>(&header), sizeof(header)));
  auto newer = ReadTrace(path, c);
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.status().message().find("newer than this poolscope reads"), std::string::npos);
  EXPECT_EQ(newer.status().message().find('\n'), std::string::npos);

  auto missing = ReadTrace("/nonexistent/trace", c);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "/nonexistent/trace: cannot open: No such file or directory");
  std::remove(path.c_str());
}

TEST(TraceReader, RandomBytesNeverCrash) {
  std::string path = TempPath();
  std::string whole = ReadFile(WriteTrace(2, EveryRecordType));
  uint64_t seed = 12345;
  for (int round = 0; round < 300; ++round) {
    std::string bytes = whole;
    for (int flips = 0; flips < 1 + round % 20; ++flips) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      bytes[(seed >> 33) % bytes.size()] = static_cast<char>(seed >> 20);
    }
    WriteFile(path, bytes);
    Collector c;
    (void)ReadTrace(path, c);  // any outcome but a crash or a hang
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace poolscope::trace_format
