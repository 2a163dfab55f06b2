#include "trace_reader.h"

#include <zstd.h>

#include <cstdio>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "progress.h"

namespace poolscope::analysis {
namespace {

namespace tf = trace_format;

struct FileCloser {
  void operator()(FILE* f) const { fclose(f); }
};

// Where one sound frame's compressed data lies in the file.
struct FrameLocation {
  tf::FrameHeader header;
  uint64_t data_offset;
};

// Walks a trace file frame by frame: checks the file header, finds each sound frame header,
// steps over damage by searching for the next frame magic, and notices truncation. Shared by
// the two ways of reading (file order, time order) so they judge damage the same way.
class FrameScanner {
 public:
  static absl::StatusOr<std::unique_ptr<FrameScanner>> Open(const std::string& path,
                                                            TraceReadSummary& summary) {
    std::unique_ptr<FILE, FileCloser> file(fopen(path.c_str(), "rb"));
    if (!file) {
      return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", strerror(errno)));
    }
    fseek(file.get(), 0, SEEK_END);
    long size = ftell(file.get());
    fseek(file.get(), 0, SEEK_SET);
    summary.file_bytes = size < 0 ? 0 : static_cast<uint64_t>(size);
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
    return std::unique_ptr<FrameScanner>(new FrameScanner(std::move(file), summary, path));
  }

  // The next sound frame, positioned at its data; false at the end of the file.
  bool Next(FrameLocation* frame) {
    while (true) {
      tf::FrameHeader h;
      fseek(file_.get(), static_cast<long>(offset_), SEEK_SET);
      size_t got = fread(&h, 1, sizeof(h), file_.get());
      if (got == 0) return false;
      if (got < sizeof(h)) {
        summary_.truncated = true;
        return false;
      }
      bool fits = offset_ + sizeof(h) + h.compressed_size <= summary_.file_bytes;
      bool sound = h.magic == tf::kFrameMagic && h.check == tf::FrameHeaderCheck(h) &&
                   h.raw_size <= tf::kMaxFrameRawBytes;
      if (sound && !fits) {
        summary_.truncated = true;  // the last frame was cut short
        return false;
      }
      if (sound) {
        *frame = {h, offset_ + sizeof(h)};
        offset_ += sizeof(h) + h.compressed_size;
        return true;
      }
      if (!Resynchronize()) return false;
    }
  }

  // The decompressed records of `frame`; false (counted as corrupt) when they fail zstd's
  // checksum or size.
  bool Read(const FrameLocation& frame, std::vector<uint8_t>& raw) {
    progress_.Add(sizeof(frame.header) + frame.header.compressed_size);
    compressed_.resize(frame.header.compressed_size);
    fseek(file_.get(), static_cast<long>(frame.data_offset), SEEK_SET);
    if (fread(compressed_.data(), 1, compressed_.size(), file_.get()) != compressed_.size()) {
      summary_.truncated = true;
      return false;
    }
    raw.resize(frame.header.raw_size);
    size_t n = ZSTD_decompress(raw.data(), raw.size(), compressed_.data(), compressed_.size());
    if (ZSTD_isError(n) || n != frame.header.raw_size) {
      ++summary_.corrupt_frames;
      return false;
    }
    return true;
  }

 private:
  FrameScanner(std::unique_ptr<FILE, FileCloser> file, TraceReadSummary& summary,
               const std::string& path)
      : file_(std::move(file)),
        summary_(summary),
        offset_(sizeof(tf::FileHeader)),
        progress_(ProgressBar::ForTrace(path, summary.file_bytes)) {}

  // Lost framing: look for the next frame magic after where this header claimed to start. A
  // header cut off at the very end of the file is truncation, not damage.
  bool Resynchronize() {
    if (offset_ + sizeof(tf::FrameHeader) >= summary_.file_bytes) {
      summary_.truncated = true;
      return false;
    }
    ++summary_.corrupt_frames;
    uint64_t resume = offset_ + 1;
    fseek(file_.get(), static_cast<long>(resume), SEEK_SET);
    uint32_t window = 0;
    uint64_t position = resume;
    for (int c; (c = fgetc(file_.get())) != EOF;) {
      window = (window >> 8) | (static_cast<uint32_t>(c) << 24);
      ++position;
      if (position - resume >= 4 && window == tf::kFrameMagic) {
        summary_.skipped_bytes += position - 4 - offset_;
        offset_ = position - 4;
        return true;
      }
    }
    summary_.skipped_bytes += summary_.file_bytes - offset_;
    return false;
  }

  std::unique_ptr<FILE, FileCloser> file_;
  TraceReadSummary& summary_;
  uint64_t offset_;
  std::vector<uint8_t> compressed_;
  ProgressBar progress_;
};

// One thread's frames, read one at a time, with the next record decoded and waiting.
struct ThreadStream {
  uint32_t thread = 0;
  std::vector<FrameLocation> frames;
  size_t next_frame = 0;
  uint64_t frame_sequence = 0;
  std::vector<uint8_t> raw;
  tf::FrameDecoder decoder;
  tf::DecodedRecord pending;
};

}  // namespace

absl::StatusOr<TraceReadSummary> ReadTrace(const std::string& path, tf::RecordVisitor& visitor) {
  TraceReadSummary summary;
  auto scanner = FrameScanner::Open(path, summary);
  if (!scanner.ok()) return scanner.status();
  tf::UnknownRecordTypes unknown;
  std::vector<uint8_t> raw;
  for (FrameLocation frame; (*scanner)->Next(&frame);) {
    if (!(*scanner)->Read(frame, raw)) continue;
    if (tf::DecodeFrame(frame.header.thread, raw.data(), raw.size(), visitor, &unknown) !=
        tf::DecodeResult::kOk) {
      ++summary.corrupt_frames;
      continue;
    }
    ++summary.frames;
  }
  summary.unknown_record_types.insert(unknown.types, unknown.types + unknown.count);
  return summary;
}

namespace {

// The merge of ReadTraceInTimeOrder, handing each record to `emit(thread, record)`; the record
// (and the strings it points to) is valid only during the call.
template <typename Emit>
void MergeInTimeOrder(FrameScanner& scanner, TraceReadSummary& summary, Emit emit) {
  // Pass 1: where each thread's frames are (headers only).
  std::vector<ThreadStream> streams;
  absl::flat_hash_map<uint32_t, size_t> stream_of;
  for (FrameLocation frame; scanner.Next(&frame);) {
    auto [it, inserted] = stream_of.try_emplace(frame.header.thread, streams.size());
    if (inserted) {
      streams.emplace_back();
      streams.back().thread = frame.header.thread;
    }
    streams[it->second].frames.push_back(frame);
  }
  // Pass 2: a k-way merge of the threads' streams by timestamp, each advanced one record at a
  // time; ties go to the frame written first.
  tf::UnknownRecordTypes unknown;
  auto advance = [&](ThreadStream& s) {
    while (true) {
      switch (s.decoder.Next(&s.pending)) {
        case tf::NextResult::kRecord:
          if (s.pending.unknown_type != 0) unknown.Add(s.pending.unknown_type);
          return true;
        case tf::NextResult::kMalformed:
          ++summary.corrupt_frames;
          [[fallthrough]];
        case tf::NextResult::kEnd:
          if (s.next_frame == s.frames.size()) return false;
          const FrameLocation& f = s.frames[s.next_frame++];
          if (!scanner.Read(f, s.raw)) continue;
          ++summary.frames;
          s.frame_sequence = f.header.sequence;
          s.decoder = tf::FrameDecoder(f.header.thread, s.raw.data(), s.raw.size());
          break;
      }
    }
  };
  auto later = [&](size_t a, size_t b) {
    const ThreadStream& x = streams[a];
    const ThreadStream& y = streams[b];
    if (x.pending.timestamp_ns != y.pending.timestamp_ns) {
      return x.pending.timestamp_ns > y.pending.timestamp_ns;
    }
    return x.frame_sequence > y.frame_sequence;
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(later)> heads(later);
  for (size_t i = 0; i < streams.size(); ++i) {
    if (advance(streams[i])) heads.push(i);
  }
  while (!heads.empty()) {
    size_t i = heads.top();
    heads.pop();
    // A thread's run of records that come before every other thread's next one goes out
    // without touching the heap.
    bool more;
    do {
      emit(streams[i].thread, streams[i].pending);
      more = advance(streams[i]);
    } while (more && (heads.empty() || !later(i, heads.top())));
    if (more) heads.push(i);
  }
  summary.unknown_record_types.insert(unknown.types, unknown.types + unknown.count);
}

// Records on their way from the decoding thread to the visitor's: allocations, frees and
// reallocs compact, the rare others whole, with their strings copied out of the frame buffer
// (which the decoder reuses) into the batch.
struct BatchedRecord {
  BatchedRecord() : other(0) {}
  tf::RecordType type;
  uint32_t thread;
  union {
    tf::AllocRecord alloc;
    tf::FreeRecord free;
    tf::ReallocRecord realloc;
    uint32_t other;  // index into Batch::others
  };
};

struct Batch {
  // The batches in flight (BatchQueue::kInFlight) then take under 2 MiB, which stays in
  // cache (16 Ki records per batch measured no faster).
  static constexpr size_t kRecords = 4096;

  // `lookahead` (may be null) sees the rare records now, on the decoding thread.
  void Add(uint32_t thread, const tf::DecodedRecord& r, tf::RecordVisitor* lookahead) {
    BatchedRecord& b = records.emplace_back();
    b.type = r.type;
    b.thread = thread;
    switch (r.type) {
      case tf::RecordType::kAlloc:
      case tf::RecordType::kSampledAlloc: b.alloc = r.alloc; break;
      case tf::RecordType::kFree: b.free = r.free; break;
      case tf::RecordType::kRealloc: b.realloc = r.realloc; break;
      default:
        if (lookahead != nullptr) tf::Deliver(thread, r, *lookahead);
        b.other = static_cast<uint32_t>(others.size());
        KeepStrings(others.emplace_back(r));
        break;
    }
  }
  void Deliver(tf::RecordVisitor& visitor) const {
    for (const BatchedRecord& b : records) {
      switch (b.type) {
        case tf::RecordType::kAlloc: visitor.OnAlloc(b.thread, b.alloc); break;
        case tf::RecordType::kSampledAlloc: visitor.OnSampledAlloc(b.thread, b.alloc); break;
        case tf::RecordType::kFree: visitor.OnFree(b.thread, b.free); break;
        case tf::RecordType::kRealloc: visitor.OnRealloc(b.thread, b.realloc); break;
        default: tf::Deliver(b.thread, others[b.other], visitor); break;
      }
    }
  }
  void Clear() {
    records.clear();
    others.clear();
    strings.clear();
  }

  std::vector<BatchedRecord> records;
  std::vector<tf::DecodedRecord> others;
  std::deque<std::string> strings;  // a deque: its strings never move, so views stay valid

 private:
  void Keep(std::string_view& s) { s = strings.emplace_back(s); }
  void KeepStrings(tf::DecodedRecord& r) {
    switch (r.type) {
      case tf::RecordType::kProcess:
        Keep(r.process.executable);
        Keep(r.process.command_line);
        Keep(r.process.host);
        Keep(r.process.engine);
        break;
      case tf::RecordType::kModuleLoad:
      case tf::RecordType::kModuleUnload:
        Keep(r.module.path);
        Keep(r.module.build_id);
        break;
      case tf::RecordType::kPhaseMark: Keep(r.phase_mark.name); break;
      default: break;
    }
  }
};

// Full batches from the decoding thread to the visitor's, at most kInFlight at once; emptied
// ones go back for reuse. A side that had to wait is woken only when the other is half a queue
// ahead, so the two threads do not trade the core batch by batch when they share one.
class BatchQueue {
 public:
  static constexpr size_t kInFlight = 8;

  std::unique_ptr<Batch> TakeEmpty() {
    std::unique_lock lock(mutex_);
    if (full_.size() >= kInFlight) {
      producer_waits_ = true;
      space_.wait(lock, [&] { return full_.size() <= kInFlight / 2; });
      producer_waits_ = false;
    }
    if (empty_.empty()) return std::make_unique<Batch>();
    std::unique_ptr<Batch> b = std::move(empty_.back());
    empty_.pop_back();
    return b;
  }
  void PutFull(std::unique_ptr<Batch> b) {
    std::lock_guard lock(mutex_);
    full_.push_back(std::move(b));
    if (consumer_waits_ && full_.size() >= kInFlight / 2) ready_.notify_one();
  }
  void Close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    ready_.notify_one();
  }
  // Null once the queue is closed and drained.
  std::unique_ptr<Batch> TakeFull() {
    std::unique_lock lock(mutex_);
    if (full_.empty() && !closed_) {
      consumer_waits_ = true;
      ready_.wait(lock, [&] { return full_.size() >= kInFlight / 2 || closed_; });
      consumer_waits_ = false;
    }
    if (full_.empty()) return nullptr;
    std::unique_ptr<Batch> b = std::move(full_.front());
    full_.pop_front();
    return b;
  }
  void PutEmpty(std::unique_ptr<Batch> b) {
    b->Clear();
    std::lock_guard lock(mutex_);
    empty_.push_back(std::move(b));
    if (producer_waits_ && full_.size() <= kInFlight / 2) space_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable space_;
  std::deque<std::unique_ptr<Batch>> full_;
  std::vector<std::unique_ptr<Batch>> empty_;
  bool producer_waits_ = false;
  bool consumer_waits_ = false;
  bool closed_ = false;
};

}  // namespace

// Decoding and merging run in a thread of their own, ahead of the visitor by a few batches:
// on two cores the analysis then costs about what its model does.
absl::StatusOr<TraceReadSummary> ReadTraceInTimeOrder(const std::string& path,
                                                      tf::RecordVisitor& visitor,
                                                      tf::RecordVisitor* lookahead) {
  TraceReadSummary summary;
  auto scanner = FrameScanner::Open(path, summary);
  if (!scanner.ok()) return scanner.status();
  BatchQueue queue;
  std::thread decoder([&] {
    std::unique_ptr<Batch> batch = queue.TakeEmpty();
    MergeInTimeOrder(**scanner, summary, [&](uint32_t thread, const tf::DecodedRecord& r) {
      batch->Add(thread, r, lookahead);
      if (batch->records.size() == Batch::kRecords) {
        queue.PutFull(std::move(batch));
        batch = queue.TakeEmpty();
      }
    });
    if (!batch->records.empty()) queue.PutFull(std::move(batch));
    queue.Close();
  });
  while (std::unique_ptr<Batch> batch = queue.TakeFull()) {
    batch->Deliver(visitor);
    queue.PutEmpty(std::move(batch));
  }
  decoder.join();
  return summary;
}

}  // namespace poolscope::analysis
