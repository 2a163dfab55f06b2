// A brute-force check of the analysis (summary.cc's HeapModel, fed by ReadTraceInTimeOrder):
// random traces of 10^5 events, written with the project's one encoder and writer, are replayed
// by a separate, deliberately naive model written here — every event collected, sorted by
// (timestamp, frame sequence, position in the frame), replayed against a std::map of live
// blocks — and every figure AnalyzeTrace gives is compared with it exactly.
//
// The traces look like the recorder's: several threads, each writing its frames in time order,
// frames of different threads interleaved arbitrarily in the file; frees (and reallocs) of
// blocks allocated by other threads, so a free can sit in the file before its allocation;
// addresses reused after a free, as allocators do; some blocks never freed.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "poolscope/trace_format.h"
#include "summary.h"
#include "trace_builder.h"

namespace poolscope::analysis {
namespace {

namespace tf = trace_format;

using poolscope::testutil::TraceBuilder;

constexpr uint64_t kStart = 1'000'000;  // the process record's start_monotonic_ns

// One event as generated (and, later, as the naive model sees it).
struct Event {
  enum Kind { kAlloc, kFree, kRealloc } kind;
  uint32_t thread;
  uint64_t time;
  uint64_t address;      // alloc: the block; free: the block; realloc: the old block
  uint64_t new_address;  // realloc only
  uint64_t size;
  uint64_t stack;
  uint64_t sequence = 0;  // the frame's sequence in the file, once written
  uint64_t position = 0;  // the index within its frame
};

struct Trace {
  std::vector<Event> events;     // in generation (= time) order
  std::vector<tf::StackNodeRecord> stack_nodes;
  uint64_t end_time = 0;
};

struct Options {
  int threads = 4;
  size_t events = 100'000;
  int stack_nodes = 60;
  // Frees and reallocs pick any live block (any thread's) with this probability, else one of
  // their own thread's when it has one.
  double foreign_free = 0.35;
  // A new block takes a recently freed address with this probability.
  double reuse_address = 0.5;
  size_t max_frame_events = 300;
};

// Generates a causally consistent event sequence with strictly increasing timestamps.
Trace Generate(uint64_t seed, const Options& o) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };

  Trace t;
  // A small random stack trie: node id's parent is an earlier node (or the root).
  for (int id = 1; id <= o.stack_nodes; ++id) {
    t.stack_nodes.push_back({static_cast<uint64_t>(id), uniform(0, id - 1),
                             0x400000 + static_cast<uint64_t>(id) * 0x40});
  }
  auto random_stack = [&] {
    // Mostly known stacks, a few unknown (0).
    return chance(0.03) ? 0 : uniform(1, o.stack_nodes);
  };
  auto random_size = [&]() -> uint64_t {
    switch (uniform(0, 9)) {
      case 0: return uniform(0, 16);
      case 1: return uniform(1 << 16, 1 << 20);
      default: return uniform(1, 4096);
    }
  };

  // Live blocks, by address, with the thread that allocated them; a swap-remove vector for
  // picking at random, and per-thread vectors for "own" picks (lazily cleaned).
  struct Live {
    uint64_t address;
    uint32_t thread;
  };
  std::vector<Live> live;
  std::map<uint64_t, size_t> index_of;  // address -> index in `live`
  std::vector<uint64_t> freed;          // addresses free for reuse
  uint64_t next_address = 0x10000;
  auto new_address = [&]() -> uint64_t {
    if (!freed.empty() && chance(o.reuse_address)) {
      // Mostly the most recently freed, as allocators do; sometimes an older one.
      size_t i = chance(0.7) ? freed.size() - 1 : uniform(0, freed.size() - 1);
      uint64_t a = freed[i];
      freed[i] = freed.back();
      freed.pop_back();
      return a;
    }
    next_address += 16 * uniform(1, 300);
    return next_address;
  };
  auto insert_live = [&](uint64_t address, uint32_t thread) {
    index_of[address] = live.size();
    live.push_back({address, thread});
  };
  auto erase_live = [&](uint64_t address) {
    size_t i = index_of.at(address);
    index_of.erase(address);
    if (i != live.size() - 1) {
      live[i] = live.back();
      index_of[live[i].address] = i;
    }
    live.pop_back();
  };
  auto pick_live = [&](uint32_t thread) -> uint64_t {
    if (!chance(o.foreign_free)) {
      // Try a few times for one of our own.
      for (int tries = 0; tries < 8; ++tries) {
        const Live& l = live[uniform(0, live.size() - 1)];
        if (l.thread == thread) return l.address;
      }
    }
    return live[uniform(0, live.size() - 1)].address;
  };

  uint64_t time = kStart + 5000;
  for (size_t i = 0; i < o.events; ++i) {
    time += uniform(1, 50);  // strictly increasing: no ties
    uint32_t thread = static_cast<uint32_t>(uniform(1, o.threads));
    // Keep the heap from growing without bound or emptying: the mix depends on its size.
    uint64_t roll = uniform(0, 99);
    double fill = static_cast<double>(live.size()) / 3000.0;
    Event e{};
    e.thread = thread;
    e.time = time;
    if (live.empty() || static_cast<int64_t>(roll) < 45 - static_cast<int64_t>(20 * fill)) {
      e.kind = Event::kAlloc;
      e.address = new_address();
      e.size = random_size();
      e.stack = random_stack();
      insert_live(e.address, thread);
    } else if (roll < 60) {
      e.kind = Event::kRealloc;
      e.address = pick_live(thread);
      e.size = random_size();
      e.stack = random_stack();
      erase_live(e.address);
      if (chance(0.3)) {
        e.new_address = e.address;  // grown or shrunk in place
      } else {
        e.new_address = new_address();
        freed.push_back(e.address);
      }
      insert_live(e.new_address, thread);
    } else {
      e.kind = Event::kFree;
      e.address = pick_live(thread);
      erase_live(e.address);
      freed.push_back(e.address);
    }
    t.events.push_back(e);
    // Now and then, the same thread frees what it just allocated (a temporary), sometimes
    // after freeing something else first.
    if (e.kind == Event::kAlloc && chance(0.15)) {
      if (chance(0.3) && live.size() > 1) {
        uint64_t other = pick_live(thread);
        if (other != e.address) {
          time += uniform(1, 50);
          t.events.push_back({Event::kFree, thread, time, other, 0, 0, 0});
          erase_live(other);
          freed.push_back(other);
        }
      }
      time += uniform(1, 50);
      t.events.push_back({Event::kFree, thread, time, e.address, 0, 0, 0});
      erase_live(e.address);
      freed.push_back(e.address);
    }
  }
  t.end_time = time + 1000;
  return t;
}

// Writes `trace` the way the recorder does: thread 0's process record and stack nodes first,
// then each thread's events in frames of random length, the threads' frames interleaved in a
// random order; thread 0's end record last. Sets each event's frame sequence and position.
void Write(Trace& trace, uint64_t seed, const Options& o, TraceBuilder& b) {
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ull);
  auto uniform = [&](uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  };
  uint64_t sequence = 0;
  b.Frame(0, [&](tf::FrameEncoder& e) {
    tf::ProcessRecord p;
    p.pid = 4242;
    p.executable = "/bin/model";
    p.engine = "pool";
    p.start_monotonic_ns = kStart;
    ASSERT_TRUE(e.PutProcess(p));
    ASSERT_TRUE(e.PutThreadStart({kStart + 1, 100}));
    for (const auto& node : trace.stack_nodes) ASSERT_TRUE(e.PutStackNode(node));
  });
  ++sequence;

  // Each thread's events, cut into frames.
  std::vector<std::vector<std::vector<Event*>>> frames(o.threads + 1);
  std::vector<std::vector<Event*>> by_thread(o.threads + 1);
  for (Event& e : trace.events) by_thread[e.thread].push_back(&e);
  for (int th = 1; th <= o.threads; ++th) {
    for (size_t i = 0; i < by_thread[th].size();) {
      size_t n = std::min<size_t>(uniform(1, o.max_frame_events), by_thread[th].size() - i);
      frames[th].emplace_back(by_thread[th].begin() + i, by_thread[th].begin() + i + n);
      i += n;
    }
  }
  // Interleave: any thread with frames left may write next.
  std::vector<size_t> next(o.threads + 1, 0);
  std::vector<uint32_t> pending;
  for (int th = 1; th <= o.threads; ++th) {
    if (!frames[th].empty()) pending.push_back(th);
  }
  while (!pending.empty()) {
    size_t k = uniform(0, pending.size() - 1);
    uint32_t th = pending[k];
    const std::vector<Event*>& frame = frames[th][next[th]++];
    if (next[th] == frames[th].size()) {
      pending[k] = pending.back();
      pending.pop_back();
    }
    b.Frame(th, [&](tf::FrameEncoder& enc) {
      uint64_t position = 0;
      for (Event* e : frame) {
        e->sequence = sequence;
        e->position = position++;
        switch (e->kind) {
          case Event::kAlloc:
            ASSERT_TRUE(enc.PutAlloc({e->time, e->address, e->size, e->stack,
                                      tf::AllocKind::kMalloc}));
            break;
          case Event::kFree:
            ASSERT_TRUE(enc.PutFree({e->time, e->address}));
            break;
          case Event::kRealloc:
            ASSERT_TRUE(
                enc.PutRealloc({e->time, e->address, e->new_address, e->size, e->stack}));
            break;
        }
      }
    });
    ++sequence;
  }
  b.Frame(0, [&](tf::FrameEncoder& e) { ASSERT_TRUE(e.PutEnd({trace.end_time, 0})); });
}

// ---------------------------------------------------------------------------------------------
// The naive model: no streaming, no cleverness.

// Temporaries follow the documented rule (summary.h): a thread's free of the very block that is
// its most recent allocation, whatever it freed in between — judged by block, not by address.

struct NaiveSite {
  uint64_t allocations = 0, allocated_bytes = 0, temporary = 0;
  uint64_t peak_bytes = 0, peak_blocks = 0;
  uint64_t leaked_bytes = 0, leaked_blocks = 0;
  uint64_t max_live_bytes = 0, max_live_blocks = 0;
  uint64_t live_bytes = 0, live_blocks = 0;
  uint64_t total_lifetime_ns = 0;
};
struct NaiveThread {
  uint64_t allocations = 0, allocated_bytes = 0, frees = 0, temporary = 0;
  uint64_t last_block = 0;  // serial of its most recent allocation (0: none)
};
struct Expected {
  uint64_t allocations = 0, frees = 0, reallocations = 0, allocated_bytes = 0;
  uint64_t peak_bytes = 0, peak_time_ns = 0, leaked_bytes = 0, leaked_blocks = 0;
  uint64_t temporary = 0, duration_ns = 0;
  std::map<uint64_t, NaiveSite> sites;
  std::map<uint32_t, NaiveThread> threads;
  std::vector<HistogramBucket> sizes = std::vector<HistogramBucket>(kHistogramBuckets);
  std::vector<HistogramBucket> lifetimes = std::vector<HistogramBucket>(kHistogramBuckets);
};

Expected Replay(std::vector<Event> events, uint64_t end_time) {
  // The reader's order: time, then the frame written first, then the frame's own order.
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.time != b.time) return a.time < b.time;
    if (a.sequence != b.sequence) return a.sequence < b.sequence;
    return a.position < b.position;
  });
  struct Block {
    uint64_t serial, size, stack, born;
    uint32_t thread;
  };
  Expected x;
  std::map<uint64_t, Block> live;
  uint64_t live_bytes = 0;
  uint64_t serial = 0;
  auto allocate = [&](const Event& e, uint64_t address) {
    Block block{++serial, e.size, e.stack, e.time, e.thread};
    live[address] = block;  // (the generator never allocates over a live block)
    live_bytes += e.size;
    x.allocated_bytes += e.size;
    x.sizes[std::bit_width(e.size)].blocks += 1;
    x.sizes[std::bit_width(e.size)].bytes += e.size;
    NaiveSite& s = x.sites[e.stack];
    s.allocations += 1;
    s.allocated_bytes += e.size;
    s.live_bytes += e.size;
    s.live_blocks += 1;
    if (s.live_bytes > s.max_live_bytes) {
      s.max_live_bytes = s.live_bytes;
      s.max_live_blocks = s.live_blocks;
    }
    NaiveThread& t = x.threads[e.thread];
    t.allocations += 1;
    t.allocated_bytes += e.size;
    t.last_block = block.serial;
    if (live_bytes > x.peak_bytes) {  // the first time the peak is reached
      x.peak_bytes = live_bytes;
      x.peak_time_ns = e.time - kStart;
      for (auto& [stack, site] : x.sites) {
        site.peak_bytes = site.live_bytes;
        site.peak_blocks = site.live_blocks;
      }
    }
  };
  // Removes the block at `address`; returns it.
  auto release = [&](const Event& e, uint64_t address) {
    auto it = live.find(address);
    EXPECT_NE(it, live.end()) << "the generator freed a block that is not live";
    Block block = it->second;
    live.erase(it);
    live_bytes -= block.size;
    NaiveSite& s = x.sites[block.stack];
    s.live_bytes -= block.size;
    s.live_blocks -= 1;
    s.total_lifetime_ns += e.time - block.born;
    x.lifetimes[std::bit_width(e.time - block.born)].blocks += 1;
    x.lifetimes[std::bit_width(e.time - block.born)].bytes += block.size;
    return block;
  };
  for (const Event& e : events) {
    switch (e.kind) {
      case Event::kAlloc:
        ++x.allocations;
        allocate(e, e.address);
        break;
      case Event::kFree: {
        ++x.frees;
        Block block = release(e, e.address);
        NaiveThread& t = x.threads[e.thread];
        t.frees += 1;
        // A temporary: the thread frees its own most recent allocation, having allocated
        // nothing since (frees of other blocks in between do not matter).
        if (block.thread == e.thread && block.serial == t.last_block) {
          ++x.temporary;
          ++t.temporary;
          ++x.sites[block.stack].temporary;
        }
        break;
      }
      case Event::kRealloc:
        ++x.reallocations;
        release(e, e.address);
        allocate(e, e.new_address);  // a realloc is an allocation of its thread
        break;
    }
  }
  for (const auto& [address, block] : live) {
    x.leaked_bytes += block.size;
    x.leaked_blocks += 1;
    NaiveSite& s = x.sites[block.stack];
    s.leaked_bytes += block.size;
    s.leaked_blocks += 1;
    s.total_lifetime_ns += end_time - block.born;
  }
  x.duration_ns = end_time - kStart;
  return x;
}

// ---------------------------------------------------------------------------------------------

void Check(uint64_t seed, const Options& o) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  Trace trace = Generate(seed, o);
  TraceBuilder b;
  Write(trace, seed, o, b);
  Expected x = Replay(trace.events, trace.end_time);

  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  const TraceSummary& s = a->summary;
  EXPECT_FALSE(s.read.truncated);
  EXPECT_EQ(s.read.corrupt_frames, 0u);
  EXPECT_EQ(s.allocations, x.allocations);
  EXPECT_EQ(s.frees, x.frees);
  EXPECT_EQ(s.reallocations, x.reallocations);
  EXPECT_EQ(s.allocated_bytes, x.allocated_bytes);
  EXPECT_EQ(s.peak_bytes, x.peak_bytes);
  EXPECT_EQ(s.peak_time_ns, x.peak_time_ns);
  EXPECT_EQ(s.leaked_bytes, x.leaked_bytes);
  EXPECT_EQ(s.leaked_blocks, x.leaked_blocks);
  EXPECT_EQ(s.duration_ns, x.duration_ns);
  EXPECT_EQ(s.stack_nodes, trace.stack_nodes.size());
  EXPECT_TRUE(s.ended);
  EXPECT_EQ(a->temporary, x.temporary);

  // Sites: the same set, with the same figures.
  std::map<uint64_t, const SiteStats*> sites;
  for (const SiteStats& site : a->sites) sites[site.stack] = &site;
  EXPECT_EQ(sites.size(), x.sites.size());
  for (const auto& [stack, want] : x.sites) {
    SCOPED_TRACE("site " + std::to_string(stack));
    auto it = sites.find(stack);
    if (it == sites.end()) {
      ADD_FAILURE() << "missing site";
      continue;
    }
    const SiteStats& got = *it->second;
    EXPECT_EQ(got.allocations, want.allocations);
    EXPECT_EQ(got.allocated_bytes, want.allocated_bytes);
    EXPECT_EQ(got.temporary, want.temporary);
    EXPECT_EQ(got.peak_bytes, want.peak_bytes);
    EXPECT_EQ(got.peak_blocks, want.peak_blocks);
    EXPECT_EQ(got.leaked_bytes, want.leaked_bytes);
    EXPECT_EQ(got.leaked_blocks, want.leaked_blocks);
    EXPECT_EQ(got.max_live_bytes, want.max_live_bytes);
    EXPECT_EQ(got.max_live_blocks, want.max_live_blocks);
    EXPECT_EQ(got.total_lifetime_ns, want.total_lifetime_ns);
  }

  // Threads: the analysis lists thread 0 too, from its thread-start record.
  x.threads[0];
  ASSERT_EQ(a->threads.size(), x.threads.size());
  for (const ThreadStats& got : a->threads) {
    SCOPED_TRACE("thread " + std::to_string(got.thread));
    const NaiveThread& want = x.threads[got.thread];
    EXPECT_EQ(got.allocations, want.allocations);
    EXPECT_EQ(got.allocated_bytes, want.allocated_bytes);
    EXPECT_EQ(got.frees, want.frees);
    EXPECT_EQ(got.temporary, want.temporary);
  }

  // Histograms.
  ASSERT_EQ(a->size_histogram.size(), x.sizes.size());
  ASSERT_EQ(a->lifetime_histogram.size(), x.lifetimes.size());
  for (int k = 0; k < kHistogramBuckets; ++k) {
    EXPECT_EQ(a->size_histogram[k].blocks, x.sizes[k].blocks) << "size bucket " << k;
    EXPECT_EQ(a->size_histogram[k].bytes, x.sizes[k].bytes) << "size bucket " << k;
    EXPECT_EQ(a->lifetime_histogram[k].blocks, x.lifetimes[k].blocks) << "lifetime bucket " << k;
    EXPECT_EQ(a->lifetime_histogram[k].bytes, x.lifetimes[k].bytes) << "lifetime bucket " << k;
  }

  // The heap timeline keeps the peak.
  uint64_t timeline_max = 0;
  for (const auto& [time, bytes] : a->heap_timeline) timeline_max = std::max(timeline_max, bytes);
  EXPECT_EQ(timeline_max, x.peak_bytes);

  // SummarizeTrace (the `run` summary) agrees with the analysis.
  auto summary = SummarizeTrace(b.path());
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->allocations, x.allocations);
  EXPECT_EQ(summary->frees, x.frees);
  EXPECT_EQ(summary->peak_bytes, x.peak_bytes);
  EXPECT_EQ(summary->peak_time_ns, x.peak_time_ns);
  EXPECT_EQ(summary->leaked_bytes, x.leaked_bytes);
  EXPECT_EQ(summary->leaked_blocks, x.leaked_blocks);
}

TEST(ModelCheck, RandomTracesMatchANaiveModel) {
  Options o;
  for (uint64_t seed : {1, 2, 3, 4, 5}) Check(seed, o);
}

TEST(ModelCheck, ManyThreadsMostlyForeignFrees) {
  Options o;
  o.threads = 12;
  o.foreign_free = 0.9;
  o.max_frame_events = 40;
  for (uint64_t seed : {11, 12}) Check(seed, o);
}

TEST(ModelCheck, NoAddressReuse) {
  Options o;
  o.reuse_address = 0;
  for (uint64_t seed : {21, 22}) Check(seed, o);
}

// Regression: temporaries were once judged by address, so a block reused at the same address
// by another thread counted as thread 1's temporary here.
TEST(ModelCheck, TemporaryIsJudgedByBlockNotAddress) {
  TraceBuilder b;
  b.Frame(1, [](tf::FrameEncoder& e) {
    e.PutAlloc({1000, 0xa0, 10, 1, tf::AllocKind::kMalloc});  // thread 1's block at 0xa0
  });
  b.Frame(2, [](tf::FrameEncoder& e) {
    e.PutFree({2000, 0xa0});                                   // thread 2 frees it...
    e.PutAlloc({3000, 0xa0, 20, 2, tf::AllocKind::kMalloc});  // ...and gets 0xa0 again
  });
  b.Frame(1, [](tf::FrameEncoder& e) {
    e.PutFree({4000, 0xa0});  // thread 2's block, freed by thread 1: no temporary
  });
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->summary.frees, 2u);
  EXPECT_EQ(a->temporary, 0u);
}

// The same through realloc in place: thread 2 reallocs thread 1's block without moving it.
TEST(ModelCheck, TemporaryIsJudgedByBlockNotAddressRealloc) {
  TraceBuilder b;
  b.Frame(1, [](tf::FrameEncoder& e) {
    e.PutAlloc({1000, 0xa0, 10, 1, tf::AllocKind::kMalloc});
  });
  b.Frame(2, [](tf::FrameEncoder& e) {
    e.PutRealloc({2000, 0xa0, 0xa0, 40, 2});  // now thread 2's block
  });
  b.Frame(1, [](tf::FrameEncoder& e) {
    e.PutFree({3000, 0xa0});  // not thread 1's most recent allocation
  });
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->temporary, 0u);
}

// Regression: a free of another block in between once ended the chance; by the documented
// rule (nothing allocated in between) this is a temporary.
TEST(ModelCheck, FreeInBetweenKeepsATemporary) {
  TraceBuilder b;
  b.Frame(1, [](tf::FrameEncoder& e) {
    e.PutAlloc({1000, 0xa0, 10, 1, tf::AllocKind::kMalloc});
    e.PutAlloc({2000, 0xb0, 10, 1, tf::AllocKind::kMalloc});
    e.PutFree({3000, 0xa0});
    e.PutFree({4000, 0xb0});  // freed before thread 1 allocated anything else
  });
  auto a = AnalyzeTrace(b.path());
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->temporary, 1u);
}

}  // namespace
}  // namespace poolscope::analysis
