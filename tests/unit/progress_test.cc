// The trace reader's progress bar: the line it draws, when it draws (after its delay, at most
// every kProgressInterval) and that it erases what it drew.
#include "progress.h"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace poolscope::analysis {
namespace {

TEST(ProgressLineTest, FillsTheWidthWithABarOfTheFractionRead) {
  std::string line = ProgressLine("t.trace", 45 << 20, 100 << 20, 60);
  EXPECT_EQ(line, "reading t.trace [######--------]  45%  45.0 MiB of 100.0 MiB");
  EXPECT_EQ(line.size(), 60u) << line;
}

TEST(ProgressLineTest, EmptyAndFullBars) {
  EXPECT_EQ(ProgressLine("a", 0, 100, 44), "reading a [-------------]   0%  0 B of 100 B");
  EXPECT_EQ(ProgressLine("a", 200, 100, 44), "reading a [###########] 100%  100 B of 100 B");
  EXPECT_EQ(ProgressLine("a", 0, 0, 44), "reading a [###############] 100%  0 B of 0 B");
}

TEST(ProgressLineTest, ANarrowTerminalCutsTheEnd) {
  EXPECT_EQ(ProgressLine("a.trace", 50, 100, 30), "reading a.trace [#####-----]  ");
}

TEST(ProgressLineTest, ALongNameGivesWayFromItsStart) {
  std::string line = ProgressLine("/a/very/long/directory/name/poolscope.123.trace", 1, 2, 50);
  EXPECT_EQ(line.size(), 50u);
  EXPECT_EQ(line, "reading ...123.trace [#####-----]  50%  1 B of 2 B");
}

// What a bar of `width` columns writes to draw `line`, and to erase itself.
std::string Draw(const std::string& line) { return absl::StrCat("\r", line); }
std::string Erase(int width) { return absl::StrCat("\r", std::string(width, ' '), "\r"); }

// Draws into a temporary file with a clock the test moves.
class ProgressBarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = tmpfile();
    ASSERT_NE(file_, nullptr);
  }
  void TearDown() override { fclose(file_); }

  ProgressBar::Settings Settings(std::chrono::milliseconds delay) {
    ProgressBar::Settings s;
    s.fd = fileno(file_);
    s.delay = delay;
    s.width = 40;
    s.now = [this] { return now_; };
    return s;
  }
  std::string Written() {
    std::string out(4096, '\0');
    out.resize(pread(fileno(file_), out.data(), out.size(), 0));
    return out;
  }
  void Advance(int ms) { now_ += std::chrono::milliseconds(ms); }

  FILE* file_ = nullptr;
  ProgressBar::Clock::time_point now_{};
};

TEST_F(ProgressBarTest, ShownAfterItsDelayAtMostTenTimesASecondThenErased) {
  {
    ProgressBar bar("t", 1000, Settings(std::chrono::milliseconds(500)));
    bar.Add(100);
    Advance(499);
    bar.Add(100);
    EXPECT_EQ(Written(), "") << "drawn before its delay";
    Advance(1);
    bar.Add(100);  // 300 of 1000
    Advance(99);
    bar.Add(100);  // too soon to redraw
    Advance(1);
    bar.Add(100);  // 500 of 1000
    EXPECT_EQ(Written(), absl::StrCat(Draw(ProgressLine("t", 300, 1000, 40)),
                                      Draw(ProgressLine("t", 500, 1000, 40))));
  }
  EXPECT_EQ(Written(), absl::StrCat(Draw(ProgressLine("t", 300, 1000, 40)),
                                    Draw(ProgressLine("t", 500, 1000, 40)), Erase(40)));
}

TEST_F(ProgressBarTest, WithoutDelayShownAtTheFirstBytes) {
  {
    ProgressBar bar("t", 1000, Settings(std::chrono::milliseconds(0)));
    bar.Add(10);
  }
  EXPECT_EQ(Written(), absl::StrCat(Draw(ProgressLine("t", 10, 1000, 40)), Erase(40)));
}

TEST_F(ProgressBarTest, AQuickReadLeavesNothing) {
  {
    ProgressBar bar("t", 1000, Settings(std::chrono::milliseconds(500)));
    bar.Add(1000);
  }
  EXPECT_EQ(Written(), "");
}

// The process-wide mode, on stderr (captured: a file, not a terminal).
std::string DrawnOnStderr(ProgressMode mode) {
  SetProgressMode(mode);
  testing::internal::CaptureStderr();
  {
    ProgressBar bar = ProgressBar::ForTrace("/some/where/t.trace", 1ull << 40);
    bar.Add(1ull << 39);
  }
  SetProgressMode(ProgressMode::kOff);
  return testing::internal::GetCapturedStderr();
}

TEST(ProgressModeTest, OnDrawsAnywhereAutoOnlyOnATerminalOffNever) {
  EXPECT_EQ(DrawnOnStderr(ProgressMode::kOn),
            absl::StrCat(Draw(ProgressLine("t.trace", 1ull << 39, 1ull << 40, 80)), Erase(80)));
  EXPECT_EQ(DrawnOnStderr(ProgressMode::kAuto), "");
  EXPECT_EQ(DrawnOnStderr(ProgressMode::kOff), "");
}

}  // namespace
}  // namespace poolscope::analysis
