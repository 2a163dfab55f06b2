// Hand-built traces for the analysis tests, written with the project's one encoder and writer
// (trace_format.h's FrameEncoder and trace::TraceFileWriter) into a temporary file.
#ifndef POOLSCOPE_TESTS_UNIT_TRACE_BUILDER_H_
#define POOLSCOPE_TESTS_UNIT_TRACE_BUILDER_H_

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "poolscope/trace_format.h"
#include "trace/trace_file.h"

namespace poolscope::testutil {

// The process record of most scenarios: /bin/prog on the pool engine, started at `start_ns`.
inline void PutProgram(trace_format::FrameEncoder& e, uint64_t pid, uint64_t start_ns) {
  trace_format::ProcessRecord p;
  p.pid = pid;
  p.executable = "/bin/prog";
  p.engine = "pool";
  p.start_monotonic_ns = start_ns;
  e.PutProcess(p);
}

// Writes one frame per call of `fill`, which gets the encoder and the frame's thread.
class TraceBuilder {
 public:
  TraceBuilder() {
    char path[] = "/tmp/poolscope-test-trace.XXXXXX";
    fd_ = mkstemp(path);
    path_ = path;
    writer_.Open(fd_);
  }
  ~TraceBuilder() {
    close(fd_);
    unlink(path_.c_str());
  }
  TraceBuilder(const TraceBuilder&) = delete;
  TraceBuilder& operator=(const TraceBuilder&) = delete;

  template <typename Fill>
  void Frame(uint32_t thread, Fill fill) {
    std::vector<uint8_t> buffer(1 << 16);
    trace_format::FrameEncoder e(buffer.data(), buffer.size());
    fill(e);
    writer_.WriteFrame(thread, e.data(), e.size());
  }
  const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
  trace::TraceFileWriter writer_;
};

}  // namespace poolscope::testutil

#endif  // POOLSCOPE_TESTS_UNIT_TRACE_BUILDER_H_
