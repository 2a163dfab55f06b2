#include "trace/trace_file.h"
#include "common/raw_syscalls.h"

#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_initStaticCCtx: a context in memory we provide
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include <cstring>

namespace poolscope::trace {
namespace {

void* MapBytes(size_t size) {
  void* p = common::RawMmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

}  // namespace

TraceFileWriter::~TraceFileWriter() {
  if (workspace_ != nullptr) common::RawMunmap(workspace_, workspace_size_);
  if (output_ != nullptr) common::RawMunmap(output_, output_size_);
}

bool TraceFileWriter::Open(int fd, int compression_level) {
  fd_ = fd;
  ZSTD_compressionParameters params =
      ZSTD_getCParams(compression_level, trace_format::kMaxFrameRawBytes, 0);
  workspace_size_ = ZSTD_estimateCCtxSize_usingCParams(params);
  output_size_ =
      sizeof(trace_format::FrameHeader) + ZSTD_compressBound(trace_format::kMaxFrameRawBytes);
  workspace_ = MapBytes(workspace_size_);
  output_ = static_cast<uint8_t*>(MapBytes(output_size_));
  if (workspace_ == nullptr || output_ == nullptr) {
    errno = ENOMEM;
    return false;
  }
  context_ = ZSTD_initStaticCCtx(workspace_, workspace_size_);
  if (context_ == nullptr ||
      ZSTD_isError(ZSTD_CCtx_setParameter(context_, ZSTD_c_compressionLevel, compression_level)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(context_, ZSTD_c_checksumFlag, 1))) {
    errno = ENOMEM;
    return false;
  }
  trace_format::FileHeader header{};
  memcpy(header.magic, trace_format::kFileMagic, sizeof(header.magic));
  header.major = trace_format::kMajorVersion;
  header.minor = trace_format::kMinorVersion;
  return WriteAll(&header, sizeof(header));
}

bool TraceFileWriter::WriteFrame(uint32_t thread, const uint8_t* records, size_t size) {
  if (size > trace_format::kMaxFrameRawBytes) {
    errno = EINVAL;
    return false;
  }
  constexpr size_t kHeader = sizeof(trace_format::FrameHeader);
  size_t compressed =
      ZSTD_compress2(context_, output_ + kHeader, output_size_ - kHeader, records, size);
  if (ZSTD_isError(compressed)) {
    errno = EIO;
    return false;
  }
  trace_format::FrameHeader header{trace_format::kFrameMagic, static_cast<uint32_t>(compressed),
                                   static_cast<uint32_t>(size), thread, sequence_, 0, 0};
  header.check = trace_format::FrameHeaderCheck(header);
  memcpy(output_, &header, kHeader);
  // Header and data in one write, so a kill leaves either a whole frame or a cut one, which
  // the reader reports as truncation.
  if (!WriteAll(output_, kHeader + compressed)) return false;
  ++sequence_;
  return true;
}

bool TraceFileWriter::WriteAll(const void* data, size_t size) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = EIO;
      return false;
    }
    p += n;
    size -= static_cast<size_t>(n);
    bytes_ += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace poolscope::trace
