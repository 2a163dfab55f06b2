// Event timestamps: CLOCK_MONOTONIC nanoseconds, read from the TSC where the kernel itself
// keeps time with it.
//
// clock_gettime costs about 30 ns in the VMs this runs in, three times a raw rdtsc, and the
// recorder reads the clock at every event. Where the clocksource is "tsc" (invariant, and
// synchronised across CPUs, or the kernel would not use it), the TSC is read instead and
// mapped to CLOCK_MONOTONIC by a line the flusher refits every round from a (TSC, clock) pair
// and the rate measured since start. Until the first fit (100 ms after start), and where the
// TSC is not the clocksource, clock_gettime is used.
#ifndef POOLSCOPE_SRC_TRACE_CLOCK_H_
#define POOLSCOPE_SRC_TRACE_CLOCK_H_

#include <time.h>
#include <x86intrin.h>

#include <atomic>
#include <cstdint>

namespace poolscope::trace {

inline uint64_t MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000 + static_cast<uint64_t>(ts.tv_nsec);
}

class TscClock {
 public:
  // Only where `tsc_is_clocksource`: otherwise Now() stays clock_gettime.
  void Start(bool tsc_is_clocksource) {
    usable_ = tsc_is_clocksource;
    Pair(&start_tsc_, &start_ns_);
  }

  // From one thread at a time (the flusher): refits the line once enough time has passed.
  void Calibrate() {
    if (!usable_) return;
    uint64_t tsc = 0, ns = 0;
    Pair(&tsc, &ns);
    if (ns - start_ns_ < kMinBaselineNs || tsc <= start_tsc_) return;
    auto mult = static_cast<uint64_t>((static_cast<unsigned __int128>(ns - start_ns_) << 32) /
                                      (tsc - start_tsc_));
    uint32_t s = seq_.load(std::memory_order_relaxed);
    seq_.store(s + 1, std::memory_order_relaxed);  // odd: readers fall back meanwhile
    std::atomic_thread_fence(std::memory_order_release);
    tsc_base_.store(tsc, std::memory_order_relaxed);
    ns_base_.store(ns, std::memory_order_relaxed);
    mult_.store(mult, std::memory_order_relaxed);
    seq_.store(s + 2, std::memory_order_release);
  }

  uint64_t Now() const {
    uint32_t s = seq_.load(std::memory_order_acquire);
    if (s != 0 && (s & 1) == 0) {
      uint64_t tsc_base = tsc_base_.load(std::memory_order_relaxed);
      uint64_t ns_base = ns_base_.load(std::memory_order_relaxed);
      uint64_t mult = mult_.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (seq_.load(std::memory_order_relaxed) == s) {
        auto delta = static_cast<int64_t>(__rdtsc() - tsc_base);
        if (delta < 0) delta = 0;  // read just before the base was taken
        return ns_base + static_cast<uint64_t>(
                             (static_cast<unsigned __int128>(delta) * mult) >> 32);
      }
    }
    return MonotonicNs();
  }

 private:
  static constexpr uint64_t kMinBaselineNs = 100000000;

  // A TSC reading and the clock at the same moment (the TSC halfway across the clock read),
  // from the quickest of a few tries: a try the thread was preempted in is off by half the
  // preemption.
  static void Pair(uint64_t* tsc, uint64_t* ns) {
    uint64_t best = UINT64_MAX;
    for (int attempt = 0; attempt < 5; ++attempt) {
      uint64_t before = __rdtsc();
      uint64_t clock = MonotonicNs();
      uint64_t span = __rdtsc() - before;
      if (span < best) {
        best = span;
        *ns = clock;
        *tsc = before + span / 2;
      }
    }
  }

  std::atomic<uint32_t> seq_{0};  // 0: not fitted yet; odd: being refitted
  std::atomic<uint64_t> tsc_base_{0};
  std::atomic<uint64_t> ns_base_{0};
  std::atomic<uint64_t> mult_{0};  // ns per TSC tick, << 32
  bool usable_ = false;
  uint64_t start_tsc_ = 0;
  uint64_t start_ns_ = 0;
};

}  // namespace poolscope::trace

#endif  // POOLSCOPE_SRC_TRACE_CLOCK_H_
