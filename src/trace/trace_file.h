// Writes trace files: the file header, then one compressed frame per call.
//
// Used inside the traced process (by the recorder's writer thread) and by tests that build
// synthetic traces, so there is one writer of the format. It never allocates: zstd works in a
// static context carved from memory mapped here, and output goes straight to the fd.
// libzstd is opened with dlopen, not linked: linked, it would be mapped into every process the
// library is preloaded into, recorded or not (0.6 MiB resident).
#ifndef POOLSCOPE_SRC_TRACE_TRACE_FILE_H_
#define POOLSCOPE_SRC_TRACE_TRACE_FILE_H_

#include <cstddef>
#include <cstdint>

#include "poolscope/trace_format.h"

struct ZSTD_CCtx_s;

namespace poolscope::trace {

// Opens libzstd (once; later calls return the first answer). Null when it is ready, else why
// not. Open calls it too; the recorder calls it first from its constructor, since dlopen
// inside malloc could re-enter a loader that is in the middle of loading something.
const char* LoadCompressor();

class TraceFileWriter {
 public:
  TraceFileWriter() = default;
  ~TraceFileWriter();
  TraceFileWriter(const TraceFileWriter&) = delete;
  TraceFileWriter& operator=(const TraceFileWriter&) = delete;

  // Prepares the compressor and writes the file header to `fd` (kept open, not owned).
  // False when libzstd cannot be loaded (ELIBACC), memory cannot be mapped or the write fails
  // (errno tells why).
  bool Open(int fd, int compression_level = 1);

  // Compresses `size` bytes of encoded records (at most kMaxFrameRawBytes) of `thread` into
  // one frame and writes it with as many write(2) calls as it takes. False on a write error
  // (errno tells which: ENOSPC, EBADF, ...); the file then ends at the last complete frame as
  // far as this writer is concerned.
  bool WriteFrame(uint32_t thread, const uint8_t* records, size_t size);

  uint64_t frames_written() const { return sequence_; }
  uint64_t bytes_written() const { return bytes_; }
  int fd() const { return fd_; }
  // Continues on another descriptor of the same file (reopened after the program closed ours).
  void set_fd(int fd) { fd_ = fd; }

 private:
  bool WriteAll(const void* data, size_t size);

  int fd_ = -1;
  ZSTD_CCtx_s* context_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_size_ = 0;
  uint8_t* output_ = nullptr;
  size_t output_size_ = 0;
  uint64_t sequence_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace poolscope::trace

#endif  // POOLSCOPE_SRC_TRACE_TRACE_FILE_H_
