// A one-line progress bar on stderr while a trace file is read: how many of its bytes have been
// consumed, redrawn in place at most 10 times a second and erased when reading ends, so that a
// terminal keeps only the verb's own output.
//
// It appears only where someone is watching: by default (ProgressMode::kAuto) when stderr is a
// terminal, and there only for a read that takes a while — a file of kProgressAtOnceBytes or
// more from the start, any other once kProgressDelay has passed. CI logs and redirected stderr
// never see it. The process-wide mode is kOff until a caller (the CLI) sets it, so the library's
// other users (tests, the fuzzer) draw nothing.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_PROGRESS_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace poolscope::analysis {

enum class ProgressMode {
  kOff,   // never
  kAuto,  // on a terminal, for long reads
  kOn,    // always (terminal or not), from the first byte
};

inline constexpr uint64_t kProgressAtOnceBytes = 16ull << 20;
inline constexpr std::chrono::milliseconds kProgressDelay{500};
inline constexpr std::chrono::milliseconds kProgressInterval{100};

// Process-wide: what the bars made by ProgressBar::ForTrace do.
void SetProgressMode(ProgressMode mode);

// "reading NAME [#####-----]  45%  20.5 MiB of 45.5 MiB", exactly `width` columns (the bar takes
// what the text leaves; a long name is cut at its start).
std::string ProgressLine(std::string_view name, uint64_t done, uint64_t total, int width);

class ProgressBar {
 public:
  using Clock = std::chrono::steady_clock;
  struct Settings {
    int fd = -1;              // where to draw; -1: nowhere
    Clock::duration delay{};  // drawn only once this long has passed since construction
    int width = 80;           // columns
    std::function<Clock::time_point()> now = &Clock::now;
  };

  // The bar for reading the trace at `path`, `total` bytes long, as the process-wide mode says.
  static ProgressBar ForTrace(std::string_view path, uint64_t total);

  ProgressBar(std::string_view name, uint64_t total, Settings settings);
  ~ProgressBar();  // erases the line, if it was drawn
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // `bytes` more of the file consumed. Cheap when there is nothing to redraw.
  void Add(uint64_t bytes) {
    done_ += bytes;
    if (settings_.fd >= 0) MaybeDraw();
  }

 private:
  void MaybeDraw();

  std::string name_;
  uint64_t total_;
  uint64_t done_ = 0;
  Settings settings_;
  Clock::time_point next_draw_;
  bool drawn_ = false;
};

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_PROGRESS_H_
