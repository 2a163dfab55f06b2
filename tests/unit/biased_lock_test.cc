#include "common/biased_lock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace poolscope::common {
namespace {

// The owner and two other threads add to one plain counter, each under its side of the lock:
// any gap in the exclusion loses increments.
void ExpectMutualExclusion() {
  BiasedLock lock;
  uint64_t counter = 0;
  constexpr int kOwnerRounds = 2000000;
  constexpr int kOtherRounds = 2000;
  std::atomic<bool> go{false};
  auto other = [&] {
    while (!go.load()) {}
    for (int i = 0; i < kOtherRounds; ++i) {
      lock.Lock();
      uint64_t seen = counter;
      std::this_thread::yield();  // widen the window an owner would slip into
      counter = seen + 1;
      lock.Unlock();
    }
  };
  std::thread a(other), b(other);
  go.store(true);
  for (int i = 0; i < kOwnerRounds; ++i) {
    lock.LockAsOwner();
    ++counter;
    lock.UnlockAsOwner();
  }
  a.join();
  b.join();
  EXPECT_EQ(counter, uint64_t{kOwnerRounds} + 2 * kOtherRounds);
}

TEST(BiasedLock, ExcludesTheOwnerAndOthersAsymmetrically) {
  ASSERT_TRUE(UseAsymmetricLocks()) << "membarrier(PRIVATE_EXPEDITED) refused on this kernel";
  ExpectMutualExclusion();
}

TEST(BiasedLock, ExcludesWithSpinLocksWhenMembarrierIsMissing) {
  asymmetric_locks = false;
  ExpectMutualExclusion();
  UseAsymmetricLocks();
}

TEST(BiasedLock, TryLockGivesUpWhileTheOwnerHoldsIt) {
  ASSERT_TRUE(UseAsymmetricLocks());
  BiasedLock lock;
  lock.LockAsOwner();
  EXPECT_TRUE(lock.owner_busy());
  bool taken = true;
  std::thread([&] { taken = lock.TryLock(/*patience=*/10); }).join();
  EXPECT_FALSE(taken);
  lock.UnlockAsOwner();
  std::thread([&] {
    taken = lock.TryLock(10);
    if (taken) lock.Unlock();
  }).join();
  EXPECT_TRUE(taken);
}

}  // namespace
}  // namespace poolscope::common
