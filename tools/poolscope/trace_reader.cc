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

  tf::UnknownRecordTypes unknown;
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
    if (tf::DecodeFrame(frame.thread, raw.data(), raw.size(), visitor, &unknown) !=
        tf::DecodeResult::kOk) {
      ++summary.corrupt_frames;
      continue;
    }
    ++summary.frames;
  }
  summary.unknown_record_types.insert(unknown.types, unknown.types + unknown.count);
  return summary;
}

}  // namespace poolscope::analysis
