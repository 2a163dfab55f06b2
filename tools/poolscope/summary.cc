#include "summary.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace poolscope::analysis {
namespace {

namespace tf = trace_format;

class SummaryBuilder : public tf::RecordVisitor {
 public:
  explicit SummaryBuilder(TraceSummary& s) : s_(s) {}

  void OnProcess(uint32_t, const tf::ProcessRecord& r) override {
    s_.pid = r.pid;
    s_.executable = std::string(r.executable);
    s_.engine = std::string(r.engine);
    s_.sample_bytes = r.sample_bytes;
    start_ns_ = r.start_monotonic_ns;
  }
  void OnThreadStart(uint32_t, const tf::ThreadRecord& r) override {
    ++s_.threads;
    Seen(r.timestamp_ns);
  }
  void OnModuleLoad(uint32_t, const tf::ModuleRecord&) override { ++s_.modules; }
  void OnStackNode(uint32_t, const tf::StackNodeRecord&) override { ++s_.stack_nodes; }
  void OnAlloc(uint32_t, const tf::AllocRecord& r) override {
    ++s_.allocations;
    Add(r.address, r.size, r.timestamp_ns);
  }
  void OnSampledAlloc(uint32_t, const tf::AllocRecord& r) override {
    // A sample of `size` bytes stands for `weight` bytes, i.e. weight/size blocks like it.
    s_.allocations += r.size > 0 ? (r.weight + r.size / 2) / r.size : 1;
    Add(r.address, r.weight, r.timestamp_ns);
  }
  void OnFree(uint32_t, const tf::FreeRecord& r) override {
    ++s_.frees;
    Remove(r.address);
    Seen(r.timestamp_ns);
  }
  void OnRealloc(uint32_t, const tf::ReallocRecord& r) override {
    ++s_.reallocations;
    Remove(r.old_address);
    Add(r.new_address, r.size, r.timestamp_ns);
  }
  void OnPhaseMark(uint32_t, const tf::PhaseMarkRecord&) override { ++s_.phase_marks; }
  void OnEnd(uint32_t, const tf::EndRecord& r) override {
    s_.ended = true;
    s_.exit_status = r.exit_status;
    Seen(r.timestamp_ns);
  }
  void OnCapReached(uint32_t, const tf::CapReachedRecord&) override { ++s_.caps_reached; }

  void Finish() {
    s_.leaked_blocks = live_.size();
    s_.leaked_bytes = live_bytes_;
    s_.duration_ns = last_ns_ > start_ns_ ? last_ns_ - start_ns_ : 0;
  }

 private:
  void Seen(uint64_t ns) {
    if (ns > last_ns_) last_ns_ = ns;
  }
  void Add(uint64_t address, uint64_t bytes, uint64_t ns) {
    Seen(ns);
    s_.allocated_bytes += bytes;
    auto [it, inserted] = live_.try_emplace(address, bytes);
    if (!inserted) {  // a free we never saw (before recording began): replace
      live_bytes_ -= it->second;
      it->second = bytes;
    }
    live_bytes_ += bytes;
    if (live_bytes_ > s_.peak_bytes) {
      s_.peak_bytes = live_bytes_;
      s_.peak_time_ns = ns > start_ns_ ? ns - start_ns_ : 0;
    }
  }
  void Remove(uint64_t address) {
    auto it = live_.find(address);
    if (it == live_.end()) return;  // allocated before recording began
    live_bytes_ -= it->second;
    live_.erase(it);
  }

  TraceSummary& s_;
  absl::flat_hash_map<uint64_t, uint64_t> live_;
  uint64_t live_bytes_ = 0;
  uint64_t start_ns_ = 0;
  uint64_t last_ns_ = 0;
};

std::string Bytes(uint64_t n) {
  if (n < 10 * 1024) return absl::StrCat(n, " B");
  if (n < 10ULL * 1024 * 1024) return absl::StrFormat("%.1f KiB", n / 1024.0);
  if (n < 10ULL * 1024 * 1024 * 1024) return absl::StrFormat("%.1f MiB", n / 1048576.0);
  return absl::StrFormat("%.2f GiB", n / 1073741824.0);
}

}  // namespace

absl::StatusOr<TraceSummary> SummarizeTrace(const std::string& path) {
  TraceSummary summary;
  SummaryBuilder builder(summary);
  auto read = ReadTrace(path, builder);
  if (!read.ok()) return read.status();
  summary.read = *read;
  builder.Finish();
  return summary;
}

std::string FormatSummary(const TraceSummary& s, const std::string& path) {
  std::string out;
  absl::StrAppendFormat(&out, "trace      %s (%s, %d frames%s%s)\n", path, Bytes(s.read.file_bytes),
                        s.read.frames, s.read.truncated ? ", TRUNCATED" : "",
                        s.read.corrupt_frames ? absl::StrCat(", ", s.read.corrupt_frames,
                                                             " corrupt frames skipped")
                                              : "");
  absl::StrAppendFormat(&out, "process    %d %s, engine %s%s\n", s.pid, s.executable, s.engine,
                        s.sample_bytes ? absl::StrCat(", sampled every ", Bytes(s.sample_bytes))
                                       : "");
  absl::StrAppendFormat(&out, "calls      %d allocations, %d frees, %d reallocs, %s allocated\n",
                        s.allocations, s.frees, s.reallocations, Bytes(s.allocated_bytes));
  absl::StrAppendFormat(&out, "peak heap  %s at %.3f s\n", Bytes(s.peak_bytes),
                        s.peak_time_ns / 1e9);
  absl::StrAppendFormat(&out, "leaked     %s in %d blocks\n", Bytes(s.leaked_bytes),
                        s.leaked_blocks);
  absl::StrAppendFormat(&out, "threads    %d; %d stack nodes; %d modules; %.3f s recorded; %s\n",
                        s.threads, s.stack_nodes, s.modules, s.duration_ns / 1e9,
                        s.ended ? absl::StrCat("exit status ", s.exit_status)
                                : "no end record (killed?)");
  if (s.caps_reached) out += "warning    a recorder limit was reached: some stacks or threads are merged\n";
  if (!s.read.unknown_record_types.empty()) {
    out += "note       records of a newer format version were skipped\n";
  }
  return out;
}

}  // namespace poolscope::analysis
