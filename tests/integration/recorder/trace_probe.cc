// trace_probe: prints facts about one poolscope trace for the recorder's integration tests, as
// `key=value` lines or simple columns a shell script can compare exactly. It reads traces only
// through the project's reader (trace_reader.h) and summary (summary.h).
//
//   trace_probe facts TRACE            key=value: reader flags, Process record, record counts,
//                                      End record, caps, marks, and the summary's totals
//   trace_probe sizes TRACE MIN MAX    "SIZE ALLOCS FREES THREADS" for every size in [MIN, MAX]
//                                      of Alloc records; frees are matched to allocations of the
//                                      same thread by address, THREADS is the number of distinct
//                                      trace thread ids that allocated that size
//   trace_probe window TRACE BEGIN END key=value: allocations, reallocs, bytes, peak and leaked
//                                      bytes of the events between the phase marks BEGIN and END
//                                      (by timestamp, read in time order across threads),
//                                      leaks counted to the end of the trace
//   trace_probe allocs TRACE           one line per Alloc/Realloc: "in|out SIZE FRAME..." where
//                                      in/out says whether it lies inside the window of the marks
//                                      "work-begin".."work-end", and each FRAME is MODULE+0xOFFSET
//                                      (the call site, return address - 1) or 0xADDRESS
//   trace_probe times TRACE MIN MAX    "TIMESTAMP" of every Alloc of a size in [MIN, MAX], sorted
//   trace_probe now                    CLOCK_MONOTONIC in ns (the clock traces use)
//
// Exit status: 0, or 2 when the trace cannot be read at all (one line on stderr).
#include <time.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "poolscope/trace_format.h"
#include "summary.h"
#include "trace_reader.h"

namespace {

namespace tf = poolscope::trace_format;
namespace an = poolscope::analysis;

// Pass 1 of every mode: everything that is cheap to keep.
class Facts : public tf::RecordVisitor {
 public:
  void OnProcess(uint32_t thread, const tf::ProcessRecord& r) override {
    ++process_records;
    if (thread != 0) ++process_records_off_thread0;
    if (process_records == 1) {
      process = r;
      executable = std::string(r.executable);
      engine = std::string(r.engine);
    }
  }
  void OnThreadStart(uint32_t thread, const tf::ThreadRecord&) override {
    ++thread_starts;
    threads.insert(thread);
  }
  void OnThreadExit(uint32_t, const tf::ThreadRecord&) override { ++thread_exits; }
  void OnModuleLoad(uint32_t, const tf::ModuleRecord& r) override {
    ++module_loads;
    modules.push_back({r.load_address, r.size, std::string(r.path)});
  }
  void OnStackNode(uint32_t, const tf::StackNodeRecord& r) override {
    ++stack_nodes;
    nodes[r.id] = {r.parent, r.return_address};
  }
  void OnAlloc(uint32_t thread, const tf::AllocRecord& r) override {
    ++allocs;
    ++by_kind[static_cast<int>(r.kind) % 6];
    stacks_used.insert(r.stack);
    threads.insert(thread);
    Seen(r.timestamp_ns);
  }
  void OnSampledAlloc(uint32_t thread, const tf::AllocRecord& r) override {
    ++sampled_allocs;
    ++by_kind[static_cast<int>(r.kind) % 6];
    stacks_used.insert(r.stack);
    sampled_weight += r.weight;
    sampled_size += r.size;
    threads.insert(thread);
    Seen(r.timestamp_ns);
  }
  void OnFree(uint32_t, const tf::FreeRecord& r) override {
    ++frees;
    Seen(r.timestamp_ns);
  }
  void OnRealloc(uint32_t, const tf::ReallocRecord& r) override {
    ++reallocs;
    stacks_used.insert(r.stack);
    Seen(r.timestamp_ns);
  }
  void OnMmap(uint32_t, const tf::MmapRecord& r) override {
    ++mmaps;
    mmap_bytes += r.length;
  }
  void OnMunmap(uint32_t, const tf::MunmapRecord&) override { ++munmaps; }
  void OnMremap(uint32_t, const tf::MremapRecord& r) override {
    ++mremaps;
    mremap_new_bytes += r.new_length;
  }
  void OnPhaseMark(uint32_t, const tf::PhaseMarkRecord& r) override {
    marks.emplace_back(std::string(r.name), r.timestamp_ns);
  }
  void OnMemorySample(uint32_t, const tf::MemorySampleRecord&) override { ++memory_samples; }
  void OnEnd(uint32_t, const tf::EndRecord& r) override {
    ++ends;
    exit_status = r.exit_status;
  }
  void OnCapReached(uint32_t, const tf::CapReachedRecord& r) override {
    caps.push_back(static_cast<int>(r.cap));
  }
  void OnUnknown(uint32_t, uint64_t) override { ++unknown; }

  void Seen(uint64_t ns) { last_event_ns = std::max(last_event_ns, ns); }
  // Stacks events name whose chain of nodes this trace does not define to the root (0,
  // "unknown", aside).
  size_t UnresolvedStacks() const {
    size_t n = 0;
    for (uint64_t id : stacks_used) {
      for (int depth = 0; id != 0 && depth < 1024; ++depth) {
        auto it = nodes.find(id);
        if (it == nodes.end()) {
          ++n;
          break;
        }
        id = it->second.parent;
      }
    }
    return n;
  }

  struct Module {
    uint64_t base, size;
    std::string path;
  };
  struct Node {
    uint64_t parent, address;
  };

  uint64_t process_records = 0, process_records_off_thread0 = 0;
  tf::ProcessRecord process;
  std::string executable, engine;
  uint64_t thread_starts = 0, thread_exits = 0, module_loads = 0, stack_nodes = 0;
  uint64_t allocs = 0, sampled_allocs = 0, sampled_weight = 0, sampled_size = 0;
  uint64_t by_kind[6] = {};  // allocations and sampled ones, by tf::AllocKind
  uint64_t frees = 0, reallocs = 0, mmaps = 0, memory_samples = 0, ends = 0, unknown = 0;
  uint64_t mmap_bytes = 0, munmaps = 0, mremaps = 0, mremap_new_bytes = 0;
  int64_t exit_status = -1;
  uint64_t last_event_ns = 0;
  std::set<uint32_t> threads;
  std::vector<std::pair<std::string, uint64_t>> marks;
  std::vector<int> caps;
  std::vector<Module> modules;
  std::map<uint64_t, Node> nodes;
  std::set<uint64_t> stacks_used;
};

an::TraceReadSummary ReadOrDie(const std::string& path, tf::RecordVisitor& visitor,
                               bool in_time_order = false) {
  auto read = in_time_order ? an::ReadTraceInTimeOrder(path, visitor) : an::ReadTrace(path, visitor);
  if (!read.ok()) {
    fprintf(stderr, "trace_probe: %s\n", std::string(read.status().message()).c_str());
    exit(2);
  }
  return *read;
}

int FactsMode(const std::string& path) {
  Facts facts;
  an::TraceReadSummary read = ReadOrDie(path, facts);
  auto summary = an::SummarizeTrace(path);
  if (!summary.ok()) {
    fprintf(stderr, "trace_probe: %s\n", std::string(summary.status().message()).c_str());
    return 2;
  }
  printf("frames=%" PRIu64 "\ncorrupt_frames=%" PRIu64 "\nskipped_bytes=%" PRIu64
         "\ntruncated=%d\nfile_bytes=%" PRIu64 "\nunknown_records=%" PRIu64 "\n",
         read.frames, read.corrupt_frames, read.skipped_bytes, read.truncated ? 1 : 0,
         read.file_bytes, facts.unknown);
  printf("process_records=%" PRIu64 "\nprocess_records_off_thread0=%" PRIu64 "\n",
         facts.process_records, facts.process_records_off_thread0);
  printf("pid=%" PRIu64 "\nparent_pid=%" PRIu64 "\nexec_generation=%" PRIu64
         "\nexecutable=%s\nengine=%s\nsample_bytes=%" PRIu64 "\n",
         facts.process.pid, facts.process.parent_pid, facts.process.exec_generation,
         facts.executable.c_str(), facts.engine.c_str(), facts.process.sample_bytes);
  printf("start_monotonic_ns=%" PRIu64 "\nlast_event_ns=%" PRIu64 "\n",
         facts.process.start_monotonic_ns, facts.last_event_ns);
  printf("alloc_records=%" PRIu64 "\nsampled_alloc_records=%" PRIu64 "\nsampled_weight=%" PRIu64
         "\nfree_records=%" PRIu64 "\nrealloc_records=%" PRIu64 "\nmmap_records=%" PRIu64
         "\nmemory_samples=%" PRIu64 "\n",
         facts.allocs, facts.sampled_allocs, facts.sampled_weight, facts.frees, facts.reallocs,
         facts.mmaps, facts.memory_samples);
  printf("kinds=malloc:%" PRIu64 ",calloc:%" PRIu64 ",aligned:%" PRIu64 ",new:%" PRIu64
         ",new[]:%" PRIu64 ",realloc:%" PRIu64 "\n",
         facts.by_kind[0], facts.by_kind[1], facts.by_kind[2], facts.by_kind[3], facts.by_kind[4],
         facts.by_kind[5]);
  printf("mmap_bytes=%" PRIu64 "\nmunmap_records=%" PRIu64 "\nmremap_records=%" PRIu64
         "\nmremap_new_bytes=%" PRIu64 "\n",
         facts.mmap_bytes, facts.munmaps, facts.mremaps, facts.mremap_new_bytes);
  printf("threads=%zu\nthread_starts=%" PRIu64 "\nthread_exits=%" PRIu64 "\nmodules=%" PRIu64
         "\nstack_nodes=%" PRIu64 "\nunresolved_stacks=%zu\n",
         facts.threads.size(), facts.thread_starts, facts.thread_exits, facts.module_loads,
         facts.stack_nodes, facts.UnresolvedStacks());
  printf("end_records=%" PRIu64 "\nexit_status=%" PRId64 "\n", facts.ends, facts.exit_status);
  std::string caps, marks;
  for (int c : facts.caps) {
    if (!caps.empty()) caps.push_back(',');
    caps.append(std::to_string(c));
  }
  for (auto& m : facts.marks) {
    if (!marks.empty()) marks.push_back(',');
    marks.append(m.first);
  }
  printf("caps=%s\nmarks=%s\n", caps.c_str(), marks.c_str());
  printf("summary_allocations=%" PRIu64 "\nsummary_frees=%" PRIu64 "\nsummary_reallocs=%" PRIu64
         "\nsummary_allocated_bytes=%" PRIu64 "\nsummary_peak_bytes=%" PRIu64
         "\nsummary_leaked_bytes=%" PRIu64 "\nsummary_leaked_blocks=%" PRIu64
         "\nsummary_ended=%d\n",
         summary->allocations, summary->frees, summary->reallocations, summary->allocated_bytes,
         summary->peak_bytes, summary->leaked_bytes, summary->leaked_blocks,
         summary->ended ? 1 : 0);
  return 0;
}

int Sizes(const std::string& path, uint64_t min, uint64_t max) {
  struct PerSize {
    uint64_t allocs = 0, frees = 0;
    std::set<uint32_t> threads;
  };
  class Visitor : public tf::RecordVisitor {
   public:
    Visitor(uint64_t min, uint64_t max) : min_(min), max_(max) {}
    void OnAlloc(uint32_t thread, const tf::AllocRecord& r) override { Add(thread, r); }
    void OnSampledAlloc(uint32_t thread, const tf::AllocRecord& r) override { Add(thread, r); }
    void OnFree(uint32_t thread, const tf::FreeRecord& r) override {
      auto it = live_.find({thread, r.address});
      if (it == live_.end()) return;
      ++sizes[it->second].frees;
      live_.erase(it);
    }
    void OnRealloc(uint32_t thread, const tf::ReallocRecord& r) override {
      live_.erase({thread, r.old_address});
    }
    std::map<uint64_t, PerSize> sizes;

   private:
    void Add(uint32_t thread, const tf::AllocRecord& r) {
      if (r.size < min_ || r.size > max_) {
        live_.erase({thread, r.address});
        return;
      }
      PerSize& s = sizes[r.size];
      ++s.allocs;
      s.threads.insert(thread);
      live_[{thread, r.address}] = r.size;
    }
    uint64_t min_, max_;
    std::map<std::pair<uint32_t, uint64_t>, uint64_t> live_;
  } visitor(min, max);
  ReadOrDie(path, visitor);
  for (auto& [size, s] : visitor.sizes) {
    printf("%" PRIu64 " %" PRIu64 " %" PRIu64 " %zu\n", size, s.allocs, s.frees, s.threads.size());
  }
  return 0;
}

// The events between two marks, by timestamp; blocks are followed to the end of the trace.
class Window : public tf::RecordVisitor {
 public:
  Window(uint64_t begin, uint64_t end) : begin_(begin), end_(end) {}
  bool Inside(uint64_t ns) const { return ns >= begin_ && ns <= end_; }
  void OnAlloc(uint32_t, const tf::AllocRecord& r) override {
    if (!Inside(r.timestamp_ns)) return;
    ++allocations;
    bytes += r.size;
    Live(r.address, r.size);
  }
  void OnFree(uint32_t, const tf::FreeRecord& r) override {
    auto it = live_.find(r.address);
    if (it == live_.end()) return;
    if (Inside(r.timestamp_ns)) ++frees;
    live_bytes -= it->second;
    live_.erase(it);
  }
  void OnRealloc(uint32_t, const tf::ReallocRecord& r) override {
    if (!Inside(r.timestamp_ns)) return;
    ++reallocs;
    bytes += r.size;
    auto it = live_.find(r.old_address);
    if (it != live_.end()) {
      live_bytes -= it->second;
      live_.erase(it);
    } else {
      ++reallocs_of_outside_blocks;
    }
    Live(r.new_address, r.size);
  }
  void Live(uint64_t address, uint64_t size) {
    auto [it, inserted] = live_.try_emplace(address, size);
    if (!inserted) {
      ++reused_without_free;
      live_bytes -= it->second;
      it->second = size;
    }
    live_bytes += size;
    peak = std::max(peak, live_bytes);
  }
  uint64_t allocations = 0, reallocs = 0, frees = 0, bytes = 0, peak = 0, live_bytes = 0;
  uint64_t reallocs_of_outside_blocks = 0, reused_without_free = 0;
  std::map<uint64_t, uint64_t> live_;

 private:
  uint64_t begin_, end_;
};

bool MarkTimes(const Facts& facts, const std::string& begin, const std::string& end,
               uint64_t* begin_ns, uint64_t* end_ns) {
  int found = 0;
  for (auto& [name, ns] : facts.marks) {
    if (name == begin) *begin_ns = ns, found |= 1;
    if (name == end) *end_ns = ns, found |= 2;
  }
  return found == 3;
}

int WindowMode(const std::string& path, const std::string& begin, const std::string& end) {
  Facts facts;
  ReadOrDie(path, facts);
  uint64_t begin_ns = 0, end_ns = 0;
  if (!MarkTimes(facts, begin, end, &begin_ns, &end_ns)) {
    printf("marks_found=0\n");
    return 0;
  }
  Window window(begin_ns, end_ns);
  // A block another thread frees or reallocates may be in a frame written before its
  // allocation's.
  ReadOrDie(path, window, /*in_time_order=*/true);
  printf("marks_found=1\nallocations=%" PRIu64 "\nreallocs=%" PRIu64 "\nfrees=%" PRIu64
         "\nbytes=%" PRIu64 "\npeak=%" PRIu64 "\nleaked_bytes=%" PRIu64 "\nleaked_blocks=%zu\n"
         "reallocs_of_outside_blocks=%" PRIu64 "\nreused_without_free=%" PRIu64 "\n",
         window.allocations, window.reallocs, window.frees, window.bytes, window.peak,
         window.live_bytes, window.live_.size(), window.reallocs_of_outside_blocks,
         window.reused_without_free);
  return 0;
}

int Allocs(const std::string& path) {
  Facts facts;
  ReadOrDie(path, facts);
  uint64_t begin_ns = 0, end_ns = 0;
  bool have_marks = MarkTimes(facts, "work-begin", "work-end", &begin_ns, &end_ns);
  auto frame = [&](uint64_t address) {
    char text[600];
    uint64_t site = address - 1;
    for (auto& m : facts.modules) {
      if (site >= m.base && site < m.base + m.size) {
        snprintf(text, sizeof(text), "%s+0x%" PRIx64, m.path.c_str(), site - m.base);
        return std::string(text);
      }
    }
    snprintf(text, sizeof(text), "0x%" PRIx64, site);
    return std::string(text);
  };
  auto print = [&](uint64_t ns, uint64_t size, uint64_t stack) {
    bool inside = have_marks && ns >= begin_ns && ns <= end_ns;
    std::string line(inside ? "in " : "out ");
    line.append(std::to_string(size));
    for (int depth = 0; stack != 0 && depth < 256; ++depth) {
      auto it = facts.nodes.find(stack);
      if (it == facts.nodes.end()) break;
      line.push_back(' ');
      line.append(frame(it->second.address));
      stack = it->second.parent;
    }
    puts(line.c_str());
  };
  class Visitor : public tf::RecordVisitor {
   public:
    explicit Visitor(decltype(print)& p) : print_(p) {}
    void OnAlloc(uint32_t, const tf::AllocRecord& r) override {
      print_(r.timestamp_ns, r.size, r.stack);
    }
    void OnRealloc(uint32_t, const tf::ReallocRecord& r) override {
      print_(r.timestamp_ns, r.size, r.stack);
    }

   private:
    decltype(print)& print_;
  } visitor(print);
  ReadOrDie(path, visitor);
  return 0;
}

int Times(const std::string& path, uint64_t min, uint64_t max) {
  class Visitor : public tf::RecordVisitor {
   public:
    Visitor(uint64_t min, uint64_t max) : min_(min), max_(max) {}
    void OnAlloc(uint32_t, const tf::AllocRecord& r) override {
      if (r.size >= min_ && r.size <= max_) times.push_back(r.timestamp_ns);
    }
    std::vector<uint64_t> times;

   private:
    uint64_t min_, max_;
  } visitor(min, max);
  ReadOrDie(path, visitor);
  std::sort(visitor.times.begin(), visitor.times.end());
  for (uint64_t t : visitor.times) printf("%" PRIu64 "\n", t);
  return 0;
}

int Usage() {
  fprintf(stderr,
          "usage: trace_probe facts TRACE | sizes TRACE MIN MAX | window TRACE BEGIN END |"
          " allocs TRACE | times TRACE MIN MAX | now\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  auto is = [&](const char* mode) { return strcmp(argv[1], mode) == 0; };
  if (is("now") && argc == 2) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    printf("%" PRIu64 "\n", static_cast<uint64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec);
    return 0;
  }
  if (argc < 3) return Usage();
  std::string path = argv[2];
  if (is("facts") && argc == 3) return FactsMode(path);
  if (is("sizes") && argc == 5) return Sizes(path, strtoull(argv[3], nullptr, 10), strtoull(argv[4], nullptr, 10));
  if (is("window") && argc == 5) return WindowMode(path, argv[3], argv[4]);
  if (is("allocs") && argc == 3) return Allocs(path);
  if (is("times") && argc == 5) return Times(path, strtoull(argv[3], nullptr, 10), strtoull(argv[4], nullptr, 10));
  return Usage();
}
