#include "trace/sampler.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace poolscope::trace {
namespace {

TEST(SamplerMath, NaturalLogMatchesLibm) {
  // The sampler's arguments: (k + 0.5) / 2^53 for 53-bit k, so 2^-54 to 1.
  for (double x = 0x1p-54; x < 1; x *= 1.0009) {
    EXPECT_NEAR(NaturalLog(x), std::log(x), 1e-15 * std::max(1.0, std::fabs(std::log(x)))) << x;
  }
  EXPECT_EQ(NaturalLog(1), 0);
  EXPECT_NEAR(NaturalLog(1 - 0x1p-53), std::log(1 - 0x1p-53), 1e-31);
}

TEST(SamplerMath, OneMinusExpNegativeMatchesExpm1) {
  for (double x = 1e-12; x < 100; x *= 1.0013) {
    double expected = -std::expm1(-x);
    EXPECT_NEAR(OneMinusExpNegative(x), expected, 1e-15 * expected) << x;
  }
  EXPECT_EQ(OneMinusExpNegative(0), 0);
}

TEST(ByteSampler, GapsAreExponentialByKolmogorovSmirnov) {
  constexpr double kMean = 512 * 1024;
  ByteSampler sampler;
  sampler.Init(static_cast<uint64_t>(kMean), 42);
  std::vector<double> gaps;
  for (int i = 0; i < 20000; ++i) gaps.push_back(static_cast<double>(sampler.NextGap()));
  std::sort(gaps.begin(), gaps.end());
  double d = 0;
  for (size_t i = 0; i < gaps.size(); ++i) {
    double cdf = 1 - std::exp(-gaps[i] / kMean);
    d = std::max({d, cdf - static_cast<double>(i) / gaps.size(),
                  static_cast<double>(i + 1) / gaps.size() - cdf});
  }
  // Kolmogorov distribution: P(sqrt(n) D > 1.628) = 0.01.
  double statistic = std::sqrt(static_cast<double>(gaps.size())) * d;
  RecordProperty("ks_statistic", std::to_string(statistic));
  EXPECT_LT(statistic, 1.628) << "p < 0.01: gaps are not exponential";
}

TEST(ByteSampler, WeightedTotalsAreUnbiased) {
  // Many allocations of mixed sizes: the weighted sum of the sampled ones estimates the total.
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    ByteSampler sampler;
    sampler.Init(64 * 1024, seed);
    uint64_t total = 0, estimate = 0, weight;
    int64_t countdown = sampler.NextGap();
    uint64_t x = seed;
    for (int i = 0; i < 2000000; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      uint64_t size = 16 + (x >> 33) % 4096;
      total += size;
      if (sampler.Sample(countdown, size, &weight)) estimate += weight;
    }
    double error = (static_cast<double>(estimate) - total) / total;
    EXPECT_LT(std::fabs(error), 0.02) << "seed " << seed;
  }
}

TEST(ByteSampler, LargeBlocksAreAlmostAlwaysSampledWithTheirOwnSize) {
  ByteSampler sampler;
  sampler.Init(4096, 7);
  uint64_t weight = 0;
  int sampled = 0;
  int64_t countdown = sampler.NextGap();
  for (int i = 0; i < 1000; ++i) sampled += sampler.Sample(countdown, 1 << 24, &weight);
  EXPECT_EQ(sampled, 1000);
  EXPECT_EQ(weight, uint64_t{1} << 24);
}

}  // namespace
}  // namespace poolscope::trace
