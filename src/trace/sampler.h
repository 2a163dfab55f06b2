// Exponential sampling by bytes, as tcmalloc and jemalloc do it: sample points fall on the
// stream of allocated bytes as a Poisson process with mean gap `mean_bytes`, and an
// allocation is sampled when a point falls inside it. A block of s bytes is then sampled with
// probability p = 1 - exp(-s / mean); recording it with weight s / p makes every total
// (bytes, peak, leaks) an unbiased estimate.
#ifndef POOLSCOPE_SRC_TRACE_SAMPLER_H_
#define POOLSCOPE_SRC_TRACE_SAMPLER_H_

#include <bit>
#include <cstdint>

namespace poolscope::trace {

// The sampler's two functions of libm, which the library does not link: linked, libm is mapped
// into every preloaded process, and its IFUNC resolvers alone make 0.3 MiB of it resident.
// Over the ranges the sampler uses, both agree with libm's to 1e-15 (relative, or absolute
// where the result is below 1), as sampler_test checks.

// ln(x) for a normal x > 0: x = m 2^e with m in [sqrt(1/2), sqrt(2)), and
// ln(m) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...) with s = (m - 1) / (m + 1), |s| < 0.172.
inline double NaturalLog(double x) {
  constexpr uint64_t kMantissa = (uint64_t{1} << 52) - 1;
  uint64_t bits = std::bit_cast<uint64_t>(x);
  int exponent = static_cast<int>(bits >> 52) - 1023;
  double m = std::bit_cast<double>((bits & kMantissa) | (uint64_t{1023} << 52));
  if (m > 1.4142135623730951) {
    m *= 0.5;
    ++exponent;
  }
  double s = (m - 1) / (m + 1);
  double term = s, sum = 0;
  for (int k = 1; k < 30; k += 2) {
    sum += term / k;
    term *= s * s;
  }
  return exponent * 0.6931471805599453 + 2 * sum;
}

// 1 - e^-x for x >= 0, as -expm1(-x): exact in relative terms for tiny x too.
inline double OneMinusExpNegative(double x) {
  if (x > 40) return 1;  // e^-40 < 2^-57: 1 - e^-x rounds to 1
  if (x < 0.5) {
    // x - x^2/2! + x^3/3! - ...: the terms shrink fast and nothing cancels.
    double term = x, sum = 0;
    for (int n = 2; n < 22; ++n) {
      sum += term;
      term *= -x / n;
    }
    return sum;
  }
  // e^-x = 2^-k e^-r with r = x - k ln 2 in [-ln 2 / 2, ln 2 / 2].
  int k = static_cast<int>(x * 1.4426950408889634 + 0.5);
  double r = x - k * 0.6931471805599453;
  double term = 1, e = 0;
  for (int n = 1; n < 20; ++n) {
    e += term;
    term *= -r / n;
  }
  return 1 - e * std::bit_cast<double>(static_cast<uint64_t>(1023 - k) << 52);
}

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
    double p = OneMinusExpNegative(static_cast<double>(size) / mean_);
    return static_cast<uint64_t>(static_cast<double>(size) / p + 0.5);
  }

  // Bytes to the next sample point: exponential with the configured mean.
  int64_t NextGap() {
    double u = (static_cast<double>(NextRandom() >> 11) + 0.5) / 9007199254740992.0;
    return static_cast<int64_t>(-NaturalLog(u) * mean_) + 1;
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
