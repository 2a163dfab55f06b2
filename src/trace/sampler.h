// Exponential sampling by bytes, as tcmalloc and jemalloc do it: sample points fall on the
// stream of allocated bytes as a Poisson process with mean gap `mean_bytes`, and an
// allocation is sampled when a point falls inside it. A block of s bytes is then sampled with
// probability p = 1 - exp(-s / mean); recording it with weight s / p makes every total
// (bytes, peak, leaks) an unbiased estimate.
#ifndef POOLSCOPE_SRC_TRACE_SAMPLER_H_
#define POOLSCOPE_SRC_TRACE_SAMPLER_H_

#include <cmath>
#include <cstdint>

namespace poolscope::trace {

class ByteSampler {
 public:
  void Init(uint64_t mean_bytes, uint64_t seed) {
    mean_ = static_cast<double>(mean_bytes);
    // splitmix64: every seed gives its own state (xorshift needs a nonzero one).
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    state_ = (z ^ (z >> 31)) | 1;
  }

  // `countdown` holds the bytes left to the next sample point; it lives with the caller (the
  // recorder keeps it in thread-local storage, so the common case is one subtraction inlined
  // at the allocation site). Whether the allocation of `size` bytes is sampled; if so,
  // *weight is the bytes it stands for.
  bool Sample(int64_t& countdown, uint64_t size, uint64_t* weight) {
    countdown -= static_cast<int64_t>(size);
    if (countdown > 0) [[likely]] return false;
    *weight = TakeSample(countdown, size);
    return true;
  }

  // After `countdown` went to zero or below on an allocation of `size` bytes: draws the next
  // gap into it and returns the sample's weight.
  uint64_t TakeSample(int64_t& countdown, uint64_t size) {
    countdown = NextGap();
    double p = -std::expm1(-static_cast<double>(size) / mean_);
    return static_cast<uint64_t>(static_cast<double>(size) / p + 0.5);
  }

  // Bytes to the next sample point: exponential with the configured mean.
  int64_t NextGap() {
    double u = (static_cast<double>(NextRandom() >> 11) + 0.5) / 9007199254740992.0;
    return static_cast<int64_t>(-std::log(u) * mean_) + 1;
  }

 private:
  uint64_t NextRandom() {
    // xorshift64*: fast, and plenty for drawing gaps.
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dULL;
  }

  double mean_ = 1;
  uint64_t state_ = 1;
};

}  // namespace poolscope::trace

#endif  // POOLSCOPE_SRC_TRACE_SAMPLER_H_
