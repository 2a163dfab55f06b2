// Writes a few valid traces into a directory, as the fuzzer's starting corpus: every record
// type, several threads with interleaved frames, a cross-thread free, an unknown record type,
// and a copy cut short. Uses the unit tests' TraceBuilder (the project's one encoder and
// writer). Usage: make_seeds DIR
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "poolscope/trace_format.h"
#include "trace_builder.h"

namespace tf = poolscope::trace_format;
using poolscope::testutil::TraceBuilder;

namespace {

std::string Contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void Save(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out << bytes;
}

void WriteEverything(TraceBuilder& b) {
  b.Frame(0, [](tf::FrameEncoder& e) {
    tf::ProcessRecord p;
    p.pid = 7;
    p.executable = "/bin/seed";
    p.command_line = std::string_view("seed\0-x", 7);
    p.host = "host";
    p.engine = "pool";
    p.page_size = 4096;
    p.huge_page_size = 2 << 20;
    p.start_monotonic_ns = 100;
    e.PutProcess(p);
    e.PutModuleLoad({150, 0x400000, 0x10000, "/bin/seed", "\x01\x02\x03"});
    e.PutStackNode({1, 0, 0x401000});
    e.PutStackNode({2, 1, 0x402000});
    e.PutStackNode({3, 1, 0x403000});
    e.PutMemorySample({200, 1 << 20, 0, 0, 1 << 16});
    e.PutPhaseMark({210, "load"});
    uint8_t payload[3] = {1, 2, 3};
    e.PutRaw(99, payload, sizeof(payload));  // a type from a newer minor version
  });
  b.Frame(1, [](tf::FrameEncoder& e) {
    e.PutThreadStart({300, 1001});
    e.PutAlloc({310, 0x1000, 64, 2, tf::AllocKind::kMalloc});
    e.PutAlloc({320, 0x2000, 128, 3, tf::AllocKind::kNew});
    e.PutFree({330, 0x1000});
    e.PutRealloc({340, 0x2000, 0x3000, 256, 3});
    e.PutMmap({350, 0x7f0000000000, 1 << 21, 3, 0x22, -1, 2});
    e.PutMremap({360, 0x7f0000000000, 1 << 21, 0x7f0000400000, 1 << 22});
    e.PutMunmap({370, 0x7f0000400000, 1 << 22});
  });
  b.Frame(2, [](tf::FrameEncoder& e) {
    e.PutThreadStart({305, 1002});
    e.PutFree({400, 0x3000});  // another thread's block, freed later than it was allocated
    e.PutSampledAlloc({410, 0x5000, 32, 2, tf::AllocKind::kMalloc, 4096});
    e.PutCapReached({420, tf::Cap::kStackTable});
    e.PutThreadExit({430, 1002});
  });
  b.Frame(1, [](tf::FrameEncoder& e) {
    e.PutAlloc({500, 0x6000, 24, 0, tf::AllocKind::kCalloc});  // leaks
    e.PutThreadExit({510, 1001});
  });
  b.Frame(0, [](tf::FrameEncoder& e) { e.PutEnd({600, 0}); });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  {
    TraceBuilder b;
    WriteEverything(b);
    std::string bytes = Contents(b.path());
    Save(dir, "everything", bytes);
    Save(dir, "everything-truncated", bytes.substr(0, bytes.size() - 7));
    std::string flipped = bytes;
    flipped[flipped.size() / 2] ^= 0x10;
    Save(dir, "everything-bitflip", flipped);
  }
  {
    TraceBuilder b;  // many small frames from three threads, interleaved
    for (int i = 0; i < 30; ++i) {
      uint32_t thread = 1 + i % 3;
      b.Frame(thread, [&](tf::FrameEncoder& e) {
        uint64_t t = 1000 + 10 * i;
        e.PutAlloc({t, 0x1000 + 16ull * i, 8ull + i, 1 + i % 3ull, tf::AllocKind::kMalloc});
        if (i > 0) e.PutFree({t + 5, 0x1000 + 16ull * (i - 1)});
      });
    }
    Save(dir, "threads", Contents(b.path()));
  }
  {
    TraceBuilder b;  // header only
    Save(dir, "empty", Contents(b.path()));
  }
  return 0;
}
