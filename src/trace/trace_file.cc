#include "trace/trace_file.h"

#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_initStaticCCtx: a context in memory we provide
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include <cstring>

#include "common/log.h"
#include "common/raw_syscalls.h"

namespace poolscope::trace {
namespace {

void* MapBytes(size_t size) {
  void* p = common::RawMmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

// The libzstd functions the writer calls, by the names zstd.h gives them.
struct Zstd {
  decltype(&ZSTD_getCParams) getCParams;
  decltype(&ZSTD_estimateCCtxSize_usingCParams) estimateCCtxSize_usingCParams;
  decltype(&ZSTD_compressBound) compressBound;
  decltype(&ZSTD_initStaticCCtx) initStaticCCtx;
  decltype(&ZSTD_CCtx_setParameter) CCtx_setParameter;
  decltype(&ZSTD_compress2) compress2;
  decltype(&ZSTD_isError) isError;
};
Zstd zstd;
const char* zstd_error = nullptr;
char zstd_error_text[256];
pthread_once_t zstd_once = PTHREAD_ONCE_INIT;

template <typename Fn>
bool Find(void* library, const char* name, Fn* fn) {
  *fn = reinterpret_cast<Fn>(dlsym(library, name));
  return *fn != nullptr;
}

void LoadZstd() {
  void* library = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr ||
      !(Find(library, "ZSTD_getCParams", &zstd.getCParams) &&
        Find(library, "ZSTD_estimateCCtxSize_usingCParams", &zstd.estimateCCtxSize_usingCParams) &&
        Find(library, "ZSTD_compressBound", &zstd.compressBound) &&
        Find(library, "ZSTD_initStaticCCtx", &zstd.initStaticCCtx) &&
        Find(library, "ZSTD_CCtx_setParameter", &zstd.CCtx_setParameter) &&
        Find(library, "ZSTD_compress2", &zstd.compress2) &&
        Find(library, "ZSTD_isError", &zstd.isError))) {
    const char* why = dlerror();
    common::Format(zstd_error_text, sizeof(zstd_error_text), "%s",
                   why != nullptr ? why : "libzstd.so.1: unknown error");
    zstd_error = zstd_error_text;
  }
}

}  // namespace

const char* LoadCompressor() {
  pthread_once(&zstd_once, LoadZstd);
  return zstd_error;
}

TraceFileWriter::~TraceFileWriter() {
  if (workspace_ != nullptr) common::RawMunmap(workspace_, workspace_size_);
  if (output_ != nullptr) common::RawMunmap(output_, output_size_);
}

bool TraceFileWriter::Open(int fd, int compression_level) {
  fd_ = fd;
  if (LoadCompressor() != nullptr) {
    errno = ELIBACC;
    return false;
  }
  ZSTD_compressionParameters params =
      zstd.getCParams(compression_level, trace_format::kMaxFrameRawBytes, 0);
  workspace_size_ = zstd.estimateCCtxSize_usingCParams(params);
  output_size_ =
      sizeof(trace_format::FrameHeader) + zstd.compressBound(trace_format::kMaxFrameRawBytes);
  workspace_ = MapBytes(workspace_size_);
  output_ = static_cast<uint8_t*>(MapBytes(output_size_));
  if (workspace_ == nullptr || output_ == nullptr) {
    errno = ENOMEM;
    return false;
  }
  context_ = zstd.initStaticCCtx(workspace_, workspace_size_);
  if (context_ == nullptr ||
      zstd.isError(zstd.CCtx_setParameter(context_, ZSTD_c_compressionLevel, compression_level)) ||
      zstd.isError(zstd.CCtx_setParameter(context_, ZSTD_c_checksumFlag, 1))) {
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
      zstd.compress2(context_, output_ + kHeader, output_size_ - kHeader, records, size);
  if (zstd.isError(compressed)) {
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
