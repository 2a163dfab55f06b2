#include "trace/clock.h"

#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "gtest/gtest.h"

namespace poolscope::trace {
namespace {

bool TscIsTheClocksource() {
  FILE* f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
  char name[64] = {};
  bool tsc = f != nullptr && fgets(name, sizeof(name), f) != nullptr &&
             std::string(name) == "tsc\n";
  if (f != nullptr) fclose(f);
  return tsc;
}

TEST(TscClock, ReadsClockGettimeUntilFittedThenAgreesWithIt) {
  auto clock = std::make_unique<TscClock>();
  clock->Start(TscIsTheClocksource());
  uint64_t before = MonotonicNs();
  uint64_t now = clock->Now();
  EXPECT_GE(now, before);
  EXPECT_LE(now, MonotonicNs());
  if (!TscIsTheClocksource()) GTEST_SKIP() << "the kernel does not keep time with the TSC here";
  clock->Calibrate();  // too early: still clock_gettime
  usleep(150000);
  clock->Calibrate();
  usleep(100000);
  // 100 ms after the fit, the TSC line is still within 20 µs of the clock.
  for (int i = 0; i < 1000; ++i) {
    uint64_t a = MonotonicNs();
    uint64_t t = clock->Now();
    uint64_t b = MonotonicNs();
    ASSERT_GE(t + 20000, a) << i;
    ASSERT_LE(t, b + 20000) << i;
  }
}

TEST(TscClock, StaysOnClockGettimeWhereTheTscIsNotTheClocksource) {
  auto clock = std::make_unique<TscClock>();
  clock->Start(false);
  usleep(120000);
  clock->Calibrate();
  uint64_t a = MonotonicNs();
  uint64_t t = clock->Now();
  EXPECT_GE(t, a);
  EXPECT_LE(t, MonotonicNs());
}

}  // namespace
}  // namespace poolscope::trace
