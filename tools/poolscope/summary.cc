#include "summary.h"

#include <algorithm>
#include <bit>
#include <iterator>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "live_blocks.h"

namespace poolscope::analysis {
namespace {

namespace tf = trace_format;

// A time series cut to at most kTimelinePoints points: time is cut into buckets of `width_` ns,
// each keeping its highest point; when a point would be one too many, the width doubles and
// neighbouring buckets merge. Points come in time order (a late one joins the last bucket).
template <typename Point, uint64_t Point::*kTime, uint64_t Point::*kValue>
class Downsampled {
 public:
  // Most points fall in the last bucket: that test is inline, the rest is not.
  void Add(const Point& p) {
    if (!AddToLastBucket(p)) [[unlikely]] AddInNewBucket(p);
  }
  // Appends `p` as it is (the state at the end), keeping to kTimelinePoints.
  void Close(const Point& p) {
    if (points_.size() >= kTimelinePoints) Widen();
    if (points_.size() >= kTimelinePoints) points_.pop_back();
    points_.push_back(p);
  }
  std::vector<Point> Take() { return std::move(points_); }

 private:
  bool AddToLastBucket(const Point& p) {
    if (points_.empty() || p.*kTime >= bucket_end_) return false;
    Point& last = points_.back();
    if (p.*kValue > last.*kValue) {
      uint64_t time = std::max(last.*kTime, p.*kTime);
      last = p;
      last.*kTime = time;
    }
    return true;
  }
  [[gnu::noinline]] void AddInNewBucket(const Point& p) {
    while (points_.size() >= kTimelinePoints) {
      Widen();
      if (AddToLastBucket(p)) return;
    }
    points_.push_back(p);
    bucket_end_ = (p.*kTime / width_ + 1) * width_;
  }

  void Widen() {
    width_ *= 2;
    size_t kept = 0;
    for (size_t i = 0; i < points_.size(); ++i) {
      if (kept > 0 && points_[i].*kTime / width_ == points_[kept - 1].*kTime / width_) {
        Point& last = points_[kept - 1];
        if (points_[i].*kValue > last.*kValue) last = points_[i];
      } else {
        points_[kept++] = points_[i];
      }
    }
    points_.resize(kept);
    bucket_end_ = (points_.back().*kTime / width_ + 1) * width_;
  }

  std::vector<Point> points_;
  uint64_t width_ = 1000;
  uint64_t bucket_end_ = 0;
};

using TimePoint = std::pair<uint64_t, uint64_t>;
using HeapTimeline = Downsampled<TimePoint, &TimePoint::first, &TimePoint::second>;
using MemoryTimeline =
    Downsampled<MemorySample, &MemorySample::time_ns, &MemorySample::rss_bytes>;

// Items kept in the order their keys first came, found by key. Consecutive events mostly come
// from one thread, and from one site: the last key is remembered, so most skip the map.
template <typename Key, typename Item>
class Indexed {
 public:
  // The index of `key`'s item, made by `make(key)` the first time.
  template <typename Make>
  uint32_t IndexOf(Key key, Make make) {
    if (key != last_key_ || items_.empty()) {
      auto [it, inserted] = index_.try_emplace(key, static_cast<uint32_t>(items_.size()));
      if (inserted) items_.push_back(make(key));
      last_key_ = key;
      last_index_ = it->second;
    }
    return last_index_;
  }
  Item& operator[](uint32_t index) { return items_[index]; }
  std::vector<Item>& items() { return items_; }
  size_t size() const { return items_.size(); }

 private:
  std::vector<Item> items_;
  absl::flat_hash_map<Key, uint32_t> index_;
  Key last_key_{};
  uint32_t last_index_ = 0;
};

// The one computation of peak, leaks and temporaries in the project. It follows the heap
// block by block (memory: the live blocks) and, when asked, per site.
class HeapModel : public tf::RecordVisitor {
 public:
  // With `analysis`, per-site figures are kept too.
  HeapModel(TraceSummary& s, TraceAnalysis* analysis) : s_(s), analysis_(analysis) {}

  void OnProcess(uint32_t, const tf::ProcessRecord& r) override {
    s_.pid = r.pid;
    s_.executable = std::string(r.executable);
    s_.engine = std::string(r.engine);
    s_.sample_bytes = r.sample_bytes;
    start_ns_ = r.start_monotonic_ns;
  }
  void OnThreadStart(uint32_t thread, const tf::ThreadRecord& r) override {
    ++s_.threads;
    if (analysis_ != nullptr) ThreadOf(thread).kernel_tid = r.kernel_tid;
    Seen(r.timestamp_ns);
  }
  void OnModuleLoad(uint32_t, const tf::ModuleRecord& r) override {
    ++s_.modules;
    if (analysis_ != nullptr) {
      analysis_->modules.push_back(
          {r.load_address, r.size, std::string(r.path), std::string(r.build_id)});
    }
  }
  void OnStackNode(uint32_t, const tf::StackNodeRecord& r) override {
    ++s_.stack_nodes;
    if (analysis_ != nullptr) analysis_->stack_nodes[r.id] = r;
  }
  void OnAlloc(uint32_t thread, const tf::AllocRecord& r) override {
    ++s_.allocations;
    CountSize(r.size, 1, r.size);
    Add(thread, r.address, r.size, r.stack, r.timestamp_ns, 1);
  }
  void OnSampledAlloc(uint32_t thread, const tf::AllocRecord& r) override {
    // A sample of `size` bytes stands for `weight` bytes, i.e. weight/size blocks like it.
    uint64_t blocks = r.size > 0 ? (r.weight + r.size / 2) / r.size : 1;
    s_.allocations += blocks;
    CountSize(r.size, blocks, r.weight);
    Add(thread, r.address, r.weight, r.stack, r.timestamp_ns, blocks);
  }
  void OnFree(uint32_t thread, const tf::FreeRecord& r) override {
    // In a sampled trace a free stands for as many blocks as its allocation did.
    uint64_t freed = Remove(thread, r.address, /*by_free=*/true, r.timestamp_ns);
    s_.frees += freed;
    if (analysis_ != nullptr) ThreadOf(thread).frees += freed;
    Seen(r.timestamp_ns);
  }
  void OnRealloc(uint32_t thread, const tf::ReallocRecord& r) override {
    ++s_.reallocations;
    Remove(thread, r.old_address, /*by_free=*/false, r.timestamp_ns);
    CountSize(r.size, 1, r.size);
    Add(thread, r.new_address, r.size, r.stack, r.timestamp_ns, 1);
  }
  void OnPhaseMark(uint32_t, const tf::PhaseMarkRecord& r) override {
    ++s_.phase_marks;
    if (analysis_ != nullptr && analysis_->phase_marks.size() < kTimelinePoints) {
      analysis_->phase_marks.push_back({Since(r.timestamp_ns), std::string(r.name)});
    }
  }
  void OnMemorySample(uint32_t, const tf::MemorySampleRecord& r) override {
    if (r.rss_bytes > s_.peak_rss_bytes) {
      s_.peak_rss_bytes = r.rss_bytes;
      s_.peak_rss_time_ns = Since(r.timestamp_ns);
      s_.peak_rss_huge_bytes = r.anon_huge_bytes;
    }
    if (analysis_ == nullptr) return;
    memory_timeline_.Add({Since(r.timestamp_ns), r.rss_bytes, r.anon_huge_bytes,
                          r.heap_huge_bytes, r.heap_rss_bytes});
  }
  void OnMmap(uint32_t, const tf::MmapRecord& r) override {
    Seen(r.timestamp_ns);
    if (analysis_ == nullptr) return;
    ++mmap_.mmaps;
    // A fixed mapping replaces whatever was there.
    std::vector<uint32_t> emptied;
    Cut(r.address, r.length, emptied);
    MmapRegion region;
    region.address = r.address;
    region.length = r.length;
    region.prot = r.prot;
    region.flags = r.flags;
    region.fd = r.fd;
    region.stack = r.stack;
    region.mapped_ns = Since(r.timestamp_ns);
    Place(r.address, r.length, NewRegion(region), r.timestamp_ns);
    SettleEmptied(emptied, r.timestamp_ns);
  }
  void OnMunmap(uint32_t, const tf::MunmapRecord& r) override {
    Seen(r.timestamp_ns);
    if (analysis_ == nullptr) return;
    ++mmap_.munmaps;
    std::vector<uint32_t> emptied;
    Cut(r.address, r.length, emptied);
    SettleEmptied(emptied, r.timestamp_ns);
  }
  void OnMremap(uint32_t, const tf::MremapRecord& r) override {
    Seen(r.timestamp_ns);
    if (analysis_ == nullptr) return;
    ++mmap_.mremaps;
    // The mapping keeps its identity (and stack) wherever it moves; one we never saw mapped
    // (before recording began) starts here.
    auto it = mapped_.upper_bound(r.old_address);
    uint32_t id;
    if (it != mapped_.begin() && std::prev(it)->second.end > r.old_address) {
      id = std::prev(it)->second.region;
    } else {
      MmapRegion region;
      region.address = r.new_address;
      region.length = r.new_length;
      region.mapped_ns = Since(r.timestamp_ns);
      id = NewRegion(region);
    }
    std::vector<uint32_t> emptied;
    Cut(r.old_address, r.old_length, emptied);
    Cut(r.new_address, r.new_length, emptied);
    Place(r.new_address, r.new_length, id, r.timestamp_ns);
    SettleEmptied(emptied, r.timestamp_ns);
  }
  void OnEnd(uint32_t, const tf::EndRecord& r) override {
    s_.ended = true;
    s_.exit_status = r.exit_status;
    Seen(r.timestamp_ns);
  }
  void OnCapReached(uint32_t, const tf::CapReachedRecord&) override { ++s_.caps_reached; }

  void Finish() {
    s_.leaked_blocks = 0;
    live_.ForEach([&](const LiveBlock& block) { s_.leaked_blocks += block.blocks; });
    s_.leaked_bytes = live_bytes_;
    s_.duration_ns = last_ns_ > start_ns_ ? last_ns_ - start_ns_ : 0;
    if (analysis_ != nullptr) {
      live_.ForEach([&](const LiveBlock& block) {
        SiteStats& site = sites_[block.site].stats;
        site.leaked_bytes += block.bytes;
        site.leaked_blocks += block.blocks;
        site.total_lifetime_ns +=
            (last_ns_ > block.allocated_ns ? last_ns_ - block.allocated_ns : 0) * block.blocks;
      });
      heap_timeline_.Close({Since(last_ns_), live_bytes_});
      analysis_->heap_timeline = heap_timeline_.Take();
      analysis_->memory_samples = memory_timeline_.Take();
      analysis_->temporary = temporary_;
      mmap_.live_bytes = mapped_bytes_;
      mmap_.live_regions = live_regions_.size();
      for (const KeptRegion& kept : largest_regions_) mmap_.largest.push_back(kept.region);
      analysis_->mmap = std::move(mmap_);
      analysis_->size_histogram = size_histogram_;
      analysis_->lifetime_histogram = lifetime_histogram_;
      analysis_->threads.clear();
      for (const PerThread& t : threads_.items()) analysis_->threads.push_back(t.stats);
      std::sort(analysis_->threads.begin(), analysis_->threads.end(),
                [](const ThreadStats& x, const ThreadStats& y) { return x.thread < y.thread; });
    }
  }

  // Sites as a vector (the model keeps them in a map while reading).
  void MoveSitesTo(std::vector<SiteStats>& out) {
    out.reserve(sites_.size());
    for (TrackedSite& tracked : sites_.items()) {
      // A site that has not changed since the last peak still holds what it held then.
      if (tracked.peak_epoch != peak_epoch_) TakePeakSnapshot(tracked);
      out.push_back(tracked.stats);
    }
  }
 private:
  struct LiveBlock {
    uint64_t bytes;
    uint64_t blocks;
    uint32_t site;              // index into sites_ (0 when sites are not kept)
    uint64_t allocated_ns = 0;  // for the lifetime histogram
    uint64_t id = 0;            // which allocation: an address is reused, a block is not
  };
  struct PerThread {
    ThreadStats stats;
    // A block is temporary when its thread frees it before allocating anything else (other
    // frees in between do not matter): the thread's latest allocation, by block, not address.
    uint64_t last_allocation_id = 0;  // 0: none, or already freed
  };

  void Seen(uint64_t ns) {
    if (ns > last_ns_) last_ns_ = ns;
  }
  uint64_t Since(uint64_t ns) const { return ns > start_ns_ ? ns - start_ns_ : 0; }
  PerThread& Thread(uint32_t thread) {
    return threads_[threads_.IndexOf(thread, [](uint32_t id) {
      PerThread t;
      t.stats.thread = id;
      return t;
    })];
  }
  ThreadStats& ThreadOf(uint32_t thread) { return Thread(thread).stats; }
  static int Bucket(uint64_t value) { return std::bit_width(value); }
  void CountSize(uint64_t size, uint64_t blocks, uint64_t bytes) {
    if (analysis_ == nullptr) return;
    HistogramBucket& b = size_histogram_[Bucket(size)];
    b.blocks += blocks;
    b.bytes += bytes;
  }
  // Per-site peak contributions in one pass: every raise of the peak starts a new epoch, and a
  // site records what it holds the first time it changes in a newer epoch than its record —
  // until then its holding is what it held at the peak. Sites that never change again are
  // settled at the end (MoveSitesTo).
  struct TrackedSite {
    SiteStats stats;
    uint64_t peak_epoch = 0;
  };
  static void TakePeakSnapshot(TrackedSite& t) {
    t.stats.peak_bytes = t.stats.live_bytes;
    t.stats.peak_blocks = t.stats.live_blocks;
  }
  uint32_t SiteIndex(uint64_t stack) {
    return sites_.IndexOf(stack, [](uint64_t id) {
      TrackedSite t;
      t.stats.stack = id;
      return t;
    });
  }
  // The site, about to change what it holds.
  SiteStats& SiteForChange(uint32_t index) {
    TrackedSite& t = sites_[index];
    if (t.peak_epoch != peak_epoch_) {
      TakePeakSnapshot(t);
      t.peak_epoch = peak_epoch_;
    }
    return t.stats;
  }
  void Add(uint32_t thread, uint64_t address, uint64_t bytes, uint64_t stack, uint64_t ns,
           uint64_t blocks) {
    Seen(ns);
    s_.allocated_bytes += bytes;
    uint32_t site_index = analysis_ != nullptr ? SiteIndex(stack) : 0;
    auto [block, inserted] = live_.TryEmplace(address, LiveBlock{bytes, blocks, site_index});
    if (!inserted) {  // a free we never saw (before recording began): replace
      if (analysis_ != nullptr) {
        SiteStats& old = SiteForChange(block->site);
        old.live_bytes -= block->bytes;
        old.live_blocks -= block->blocks;
      }
      live_bytes_ -= block->bytes;
      *block = LiveBlock{bytes, blocks, site_index};
    }
    block->allocated_ns = ns;
    block->id = ++allocation_ids_;
    live_bytes_ += bytes;
    if (analysis_ != nullptr) {
      SiteStats& site = SiteForChange(site_index);
      site.allocations += blocks;
      site.allocated_bytes += bytes;
      site.live_bytes += bytes;
      site.live_blocks += blocks;
      if (site.live_bytes > site.max_live_bytes) {
        site.max_live_bytes = site.live_bytes;
        site.max_live_blocks = site.live_blocks;
      }
      heap_timeline_.Add({Since(ns), live_bytes_});
      PerThread& t = Thread(thread);
      t.last_allocation_id = block->id;
      ThreadStats& stats = t.stats;
      stats.allocations += blocks;
      stats.allocated_bytes += bytes;
    }
    // After the site took its block: a new peak's snapshot must include it.
    if (live_bytes_ > s_.peak_bytes) {
      s_.peak_bytes = live_bytes_;
      s_.peak_time_ns = ns > start_ns_ ? ns - start_ns_ : 0;
      ++peak_epoch_;
    }
  }
  // Returns the blocks the removed allocation stood for (1 for a block of a full trace).
  uint64_t Remove(uint32_t thread, uint64_t address, bool by_free, uint64_t ns) {
    LiveBlock* found = live_.Find(address);
    if (found == nullptr) return 1;  // allocated before recording began
    LiveBlock gone = *found;
    live_.Erase(address);
    if (analysis_ != nullptr && by_free) {
      PerThread& t = Thread(thread);
      if (t.last_allocation_id == gone.id) {
        temporary_ += gone.blocks;
        sites_[gone.site].stats.temporary += gone.blocks;
        t.stats.temporary += gone.blocks;
        t.last_allocation_id = 0;
      }
    }
    uint64_t blocks = gone.blocks;
    if (analysis_ != nullptr) {
      uint64_t born = gone.allocated_ns;
      HistogramBucket& b = lifetime_histogram_[Bucket(ns > born ? ns - born : 0)];
      b.blocks += blocks;
      b.bytes += gone.bytes;
      SiteStats& site = SiteForChange(gone.site);
      site.live_bytes -= gone.bytes;
      site.live_blocks -= blocks;
      site.total_lifetime_ns += (ns > born ? ns - born : 0) * blocks;
    }
    live_bytes_ -= gone.bytes;
    if (analysis_ != nullptr) heap_timeline_.Add({Since(ns), live_bytes_});
    return blocks;
  }

  // Mappings: live pieces by start address, each belonging to a region (one mmap call, as it
  // was moved, grown and cut); regions are kept while live, and the largest ever for the end.
  struct Piece {
    uint64_t end;
    uint32_t region;
  };
  struct LiveRegion {
    MmapRegion info;
    uint64_t bytes = 0;
  };
  uint32_t NewRegion(const MmapRegion& info) {
    uint32_t id = next_region_++;
    live_regions_[id].info = info;
    return id;
  }
  void Place(uint64_t start, uint64_t length, uint32_t id, uint64_t ns) {
    if (length == 0) return;
    mapped_[start] = {start + length, id};
    LiveRegion& live = live_regions_[id];
    live.bytes += length;
    live.info.length = std::max(live.info.length, live.bytes);
    KeepIfLargest(id, live.info);
    mapped_bytes_ += length;
    if (mapped_bytes_ > mmap_.peak_bytes) {
      mmap_.peak_bytes = mapped_bytes_;
      mmap_.peak_time_ns = Since(ns);
    }
  }
  // Unmaps [start, start + length) from whichever pieces it overlaps; the regions left with no
  // byte go into `emptied` (SettleEmptied, once any remapped part is placed again).
  void Cut(uint64_t start, uint64_t length, std::vector<uint32_t>& emptied) {
    uint64_t end = start + length;
    auto it = mapped_.upper_bound(start);
    if (it != mapped_.begin()) --it;
    while (it != mapped_.end() && it->first < end) {
      uint64_t piece_start = it->first;
      Piece piece = it->second;
      if (piece.end <= start) {
        ++it;
        continue;
      }
      it = mapped_.erase(it);
      uint64_t cut_start = std::max(piece_start, start);
      uint64_t cut_end = std::min(piece.end, end);
      if (piece_start < cut_start) mapped_[piece_start] = {cut_start, piece.region};
      if (cut_end < piece.end) it = mapped_.emplace(cut_end, Piece{piece.end, piece.region}).first;
      uint64_t& bytes = live_regions_[piece.region].bytes;
      bytes -= cut_end - cut_start;
      if (bytes == 0) emptied.push_back(piece.region);
      mapped_bytes_ -= cut_end - cut_start;
    }
  }
  void SettleEmptied(const std::vector<uint32_t>& emptied, uint64_t ns) {
    for (uint32_t id : emptied) {
      auto it = live_regions_.find(id);
      if (it == live_regions_.end() || it->second.bytes != 0) continue;
      for (KeptRegion& kept : largest_regions_) {
        if (kept.id != id) continue;
        kept.region.unmapped = true;
        kept.region.unmapped_ns = Since(ns);
      }
      live_regions_.erase(it);
    }
  }
  // largest_regions_ holds the kMmapRegionsKept longest, longest first.
  struct KeptRegion {
    uint32_t id;
    MmapRegion region;
  };
  void KeepIfLargest(uint32_t id, const MmapRegion& info) {
    std::erase_if(largest_regions_, [&](const KeptRegion& kept) { return kept.id == id; });
    auto at = std::find_if(largest_regions_.begin(), largest_regions_.end(),
                           [&](const KeptRegion& kept) { return kept.region.length < info.length; });
    if (at - largest_regions_.begin() >= static_cast<ptrdiff_t>(kMmapRegionsKept)) return;
    largest_regions_.insert(at, {id, info});
    if (largest_regions_.size() > kMmapRegionsKept) largest_regions_.pop_back();
  }

  TraceSummary& s_;
  TraceAnalysis* analysis_;
  LiveBlocks<LiveBlock> live_;
  Indexed<uint64_t, TrackedSite> sites_;
  uint64_t peak_epoch_ = 0;
  Indexed<uint32_t, PerThread> threads_;
  std::vector<HistogramBucket> size_histogram_ =
      std::vector<HistogramBucket>(kHistogramBuckets);
  std::vector<HistogramBucket> lifetime_histogram_ =
      std::vector<HistogramBucket>(kHistogramBuckets);
  HeapTimeline heap_timeline_;
  MemoryTimeline memory_timeline_;
  uint64_t temporary_ = 0;
  uint64_t allocation_ids_ = 0;
  uint64_t live_bytes_ = 0;
  uint64_t start_ns_ = 0;
  uint64_t last_ns_ = 0;
  MmapStats mmap_;
  std::map<uint64_t, Piece> mapped_;
  absl::flat_hash_map<uint32_t, LiveRegion> live_regions_;
  std::vector<KeptRegion> largest_regions_;
  uint32_t next_region_ = 0;
  uint64_t mapped_bytes_ = 0;
};

}  // namespace

std::string HumanBytes(uint64_t n) {
  if (n < 10 * 1024) return absl::StrCat(n, " B");
  if (n < 10ULL * 1024 * 1024) return absl::StrFormat("%.1f KiB", n / 1024.0);
  if (n < 10ULL * 1024 * 1024 * 1024) return absl::StrFormat("%.1f MiB", n / 1048576.0);
  return absl::StrFormat("%.2f GiB", n / 1073741824.0);
}

absl::StatusOr<TraceSummary> SummarizeTrace(const std::string& path) {
  TraceSummary summary;
  HeapModel model(summary, nullptr);
  auto read = ReadTraceInTimeOrder(path, model);
  if (!read.ok()) return read.status();
  summary.read = *read;
  model.Finish();
  return summary;
}

absl::StatusOr<TraceAnalysis> AnalyzeTrace(const std::string& path,
                                           trace_format::RecordVisitor* lookahead) {
  TraceAnalysis analysis;
  HeapModel model(analysis.summary, &analysis);
  auto read = ReadTraceInTimeOrder(path, model, lookahead);
  if (!read.ok()) return read.status();
  analysis.summary.read = *read;
  model.Finish();
  model.MoveSitesTo(analysis.sites);
  return analysis;
}

std::vector<uint64_t> TraceAnalysis::Frames(uint64_t stack) const {
  std::vector<uint64_t> frames;
  for (uint64_t id = stack; id != 0 && frames.size() < 1024;) {
    auto it = stack_nodes.find(id);
    if (it == stack_nodes.end()) break;
    frames.push_back(it->second.return_address);
    id = it->second.parent;
  }
  return frames;
}

std::string FormatSummary(const TraceSummary& s, const std::string& path) {
  std::string out;
  absl::StrAppendFormat(&out, "trace      %s (%s, %d frames%s%s)\n", path, HumanBytes(s.read.file_bytes),
                        s.read.frames, s.read.truncated ? ", TRUNCATED" : "",
                        s.read.corrupt_frames ? absl::StrCat(", ", s.read.corrupt_frames,
                                                             " corrupt frames skipped")
                                              : "");
  absl::StrAppendFormat(&out, "process    %d %s, engine %s%s\n", s.pid, s.executable, s.engine,
                        s.sample_bytes ? absl::StrCat(", sampled every ", HumanBytes(s.sample_bytes))
                                       : "");
  absl::StrAppendFormat(&out, "calls      %d allocations, %d frees, %d reallocs, %s allocated\n",
                        s.allocations, s.frees, s.reallocations, HumanBytes(s.allocated_bytes));
  absl::StrAppendFormat(&out, "peak heap  %s at %.3f s\n", HumanBytes(s.peak_bytes),
                        s.peak_time_ns / 1e9);
  if (s.peak_rss_bytes > 0) {
    absl::StrAppendFormat(&out, "peak RSS   %s at %.3f s, %s of it in huge pages\n",
                          HumanBytes(s.peak_rss_bytes), s.peak_rss_time_ns / 1e9,
                          HumanBytes(s.peak_rss_huge_bytes));
  }
  absl::StrAppendFormat(&out, "leaked     %s in %d blocks\n", HumanBytes(s.leaked_bytes),
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
