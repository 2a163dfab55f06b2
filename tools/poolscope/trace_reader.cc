#include "trace_reader.h"

#include <zstd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace poolscope::analysis {
namespace {

namespace tf = trace_format;

// Forwards records and remembers the unknown types.
class UnknownTypeRecorder : public tf::RecordVisitor {
 public:
  UnknownTypeRecorder(tf::RecordVisitor& inner, std::set<uint64_t>& unknown)
      : inner_(inner), unknown_(unknown) {}
  void OnProcess(uint32_t t, const tf::ProcessRecord& r) override { inner_.OnProcess(t, r); }
  void OnThreadStart(uint32_t t, const tf::ThreadRecord& r) override { inner_.OnThreadStart(t, r); }
  void OnThreadExit(uint32_t t, const tf::ThreadRecord& r) override { inner_.OnThreadExit(t, r); }
  void OnModuleLoad(uint32_t t, const tf::ModuleRecord& r) override { inner_.OnModuleLoad(t, r); }
  void OnModuleUnload(uint32_t t, const tf::ModuleRecord& r) override {
    inner_.OnModuleUnload(t, r);
  }
  void OnStackNode(uint32_t t, const tf::StackNodeRecord& r) override { inner_.OnStackNode(t, r); }
  void OnAlloc(uint32_t t, const tf::AllocRecord& r) override { inner_.OnAlloc(t, r); }
  void OnSampledAlloc(uint32_t t, const tf::AllocRecord& r) override {
    inner_.OnSampledAlloc(t, r);
  }
  void OnFree(uint32_t t, const tf::FreeRecord& r) override { inner_.OnFree(t, r); }
  void OnRealloc(uint32_t t, const tf::ReallocRecord& r) override { inner_.OnRealloc(t, r); }
  void OnMmap(uint32_t t, const tf::MmapRecord& r) override { inner_.OnMmap(t, r); }
  void OnMunmap(uint32_t t, const tf::MunmapRecord& r) override { inner_.OnMunmap(t, r); }
  void OnMremap(uint32_t t, const tf::MremapRecord& r) override { inner_.OnMremap(t, r); }
  void OnPhaseMark(uint32_t t, const tf::PhaseMarkRecord& r) override { inner_.OnPhaseMark(t, r); }
  void OnMemorySample(uint32_t t, const tf::MemorySampleRecord& r) override {
    inner_.OnMemorySample(t, r);
  }
  void OnEnd(uint32_t t, const tf::EndRecord& r) override { inner_.OnEnd(t, r); }
  void OnCapReached(uint32_t t, const tf::CapReachedRecord& r) override {
    inner_.OnCapReached(t, r);
  }
  void OnUnknown(uint32_t t, uint64_t type) override {
    unknown_.insert(type);
    inner_.OnUnknown(t, type);
  }

 private:
  tf::RecordVisitor& inner_;
  std::set<uint64_t>& unknown_;
};

struct FileCloser {
  void operator()(FILE* f) const { fclose(f); }
};

}  // namespace

absl::StatusOr<TraceReadSummary> ReadTrace(const std::string& path, tf::RecordVisitor& visitor) {
  std::unique_ptr<FILE, FileCloser> file(fopen(path.c_str(), "rb"));
  if (!file) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", strerror(errno)));
  }
  // The whole file is read through a buffer of one frame; the file size bounds resync scans.
  fseek(file.get(), 0, SEEK_END);
  long file_size = ftell(file.get());
  fseek(file.get(), 0, SEEK_SET);

  TraceReadSummary summary;
  summary.file_bytes = file_size < 0 ? 0 : static_cast<uint64_t>(file_size);
  tf::FileHeader header;
  if (fread(&header, 1, sizeof(header), file.get()) != sizeof(header) ||
      memcmp(header.magic, tf::kFileMagic, sizeof(header.magic)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a poolscope trace"));
  }
  summary.major = header.major;
  summary.minor = header.minor;
  if (header.major > tf::kMajorVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": written in trace format ", header.major, ".", header.minor,
        ", newer than this poolscope reads (", tf::kMajorVersion, ".x); upgrade poolscope"));
  }

  UnknownTypeRecorder forward(visitor, summary.unknown_record_types);
  std::vector<uint8_t> compressed;
  std::vector<uint8_t> raw;
  uint64_t offset = sizeof(header);
  while (true) {
    tf::FrameHeader frame;
    size_t got = fread(&frame, 1, sizeof(frame), file.get());
    if (got == 0) break;
    if (got < sizeof(frame)) {
      summary.truncated = true;
      break;
    }
    bool fits = offset + sizeof(frame) + frame.compressed_size <= summary.file_bytes;
    bool sound = frame.magic == tf::kFrameMagic && frame.check == tf::FrameHeaderCheck(frame);
    if (sound && !fits) {
      summary.truncated = true;  // the last frame was cut short
      break;
    }
    if (!sound || frame.raw_size > tf::kMaxFrameRawBytes) {
      // Lost framing: look for the next frame magic after where this header claimed to start.
      // A header cut off at the very end of the file is truncation, not damage.
      if (offset + sizeof(frame) >= summary.file_bytes && frame.magic == tf::kFrameMagic) {
        summary.truncated = true;
        break;
      }
      ++summary.corrupt_frames;
      uint64_t resume = offset + 1;
      bool found = false;
      fseek(file.get(), static_cast<long>(resume), SEEK_SET);
      uint32_t window = 0;
      int c;
      uint64_t position = resume;
      while ((c = fgetc(file.get())) != EOF) {
        window = (window >> 8) | (static_cast<uint32_t>(c) << 24);
        ++position;
        if (position - resume >= 4 && window == tf::kFrameMagic) {
          found = true;
          break;
        }
      }
      if (!found) {
        summary.skipped_bytes += summary.file_bytes - offset;
        break;
      }
      summary.skipped_bytes += position - 4 - offset;
      offset = position - 4;
      fseek(file.get(), static_cast<long>(offset), SEEK_SET);
      continue;
    }
    compressed.resize(frame.compressed_size);
    if (fread(compressed.data(), 1, compressed.size(), file.get()) != compressed.size()) {
      summary.truncated = true;
      break;
    }
    offset += sizeof(frame) + frame.compressed_size;
    raw.resize(frame.raw_size);
    size_t n = ZSTD_decompress(raw.data(), raw.size(), compressed.data(), compressed.size());
    if (ZSTD_isError(n) || n != frame.raw_size) {
      ++summary.corrupt_frames;  // the checksum or the data is damaged: skip this frame
      continue;
    }
    if (tf::DecodeFrame(frame.thread, raw.data(), raw.size(), forward) !=
        tf::DecodeResult::kOk) {
      ++summary.corrupt_frames;
      continue;
    }
    ++summary.frames;
  }
  return summary;
}

}  // namespace poolscope::analysis
