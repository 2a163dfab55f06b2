// The unwinder's fork handshake (trace/unwinder.h): once UnwinderForkPrepare returns, no thread
// is inside libunwind and none enters until the fork is over, so a child never inherits one of
// libunwind's locks held; the child unwinds at once.
#include "trace/unwinder.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace poolscope::trace {
namespace {

using std::chrono::milliseconds;

TEST(Unwinder, CapturesThisStack) {
  ASSERT_TRUE(LoadUnwinder());
  uintptr_t frames[16];
  EXPECT_GT(CaptureStack(frames, 16), 2);
}

TEST(Unwinder, AForkWaitsForUnwindsAndHoldsNewOnesUntilItEnds) {
  ASSERT_TRUE(LoadUnwinder());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> captures{0};
  std::thread unwinder([&] {
    uintptr_t frames[64];
    while (!stop.load()) {
      if (CaptureStack(frames, 64) > 0) captures.fetch_add(1);
    }
  });
  while (captures.load() < 100) std::this_thread::yield();

  UnwinderForkPrepare();
  uint64_t held = captures.load();
  std::this_thread::sleep_for(milliseconds(50));
  // At most the capture that had already returned from libunwind is counted late.
  EXPECT_LE(captures.load(), held + 1);

  pid_t child = fork();
  if (child == 0) {
    UnwinderForkChild();
    alarm(10);  // a child stuck on a lock inherited from libunwind dies instead of hanging
    uintptr_t frames[16];
    _exit(CaptureStack(frames, 16) > 2 ? 0 : 1);
  }
  ASSERT_GT(child, 0);
  UnwinderForkParent();
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;

  uint64_t resumed = captures.load();
  while (captures.load() < resumed + 100) std::this_thread::yield();
  stop.store(true);
  unwinder.join();
}

}  // namespace
}  // namespace poolscope::trace
