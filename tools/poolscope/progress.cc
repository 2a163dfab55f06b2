#include "progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "summary.h"

namespace poolscope::analysis {
namespace {

ProgressMode mode = ProgressMode::kOff;

// Wide enough to see movement in; the text gives way before it does.
constexpr int kMinBarColumns = 12;
// A wide terminal gets a bar, not a line across the whole screen.
constexpr int kMaxColumns = 100;

void WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a closed or full stderr is no reason to stop reading the trace
    text.remove_prefix(static_cast<size_t>(n));
  }
}

// The terminal's width less one column: writing the last column makes some terminals wrap.
int TerminalColumns(int fd) {
  winsize size{};
  if (ioctl(fd, TIOCGWINSZ, &size) != 0 || size.ws_col < 2) return 80;
  return std::min<int>(size.ws_col - 1, kMaxColumns);
}

}  // namespace

void SetProgressMode(ProgressMode m) { mode = m; }

std::string ProgressLine(std::string_view name, uint64_t done, uint64_t total, int width) {
  done = std::min(done, total);
  uint64_t percent = total == 0 ? 100 : done * 100 / total;
  std::string tail =
      absl::StrFormat(" %3d%%  %s of %s", percent, HumanBytes(done), HumanBytes(total));
  constexpr std::string_view kReading = "reading ";
  int room_for_name = width - static_cast<int>(kReading.size() + 1 + tail.size()) - kMinBarColumns;
  std::string head = std::string(kReading);
  if (static_cast<int>(name.size()) > room_for_name && room_for_name > 3) {
    // The end of a file name tells traces apart (poolscope.<pid>.trace).
    head += "...";
    head += name.substr(name.size() - static_cast<size_t>(room_for_name - 3));
  } else {
    head += name;  // (a terminal too narrow for any of it cuts the line's end instead)
  }
  head += " ";
  int inner = std::max(width - static_cast<int>(head.size() + tail.size()), kMinBarColumns) - 2;
  int filled = total == 0 ? inner : static_cast<int>(static_cast<double>(done) / total * inner);
  std::string line = absl::StrCat(head, "[", std::string(filled, '#'),
                                  std::string(inner - filled, '-'), "]", tail);
  line.resize(static_cast<size_t>(std::max(width, 0)), ' ');
  return line;
}

ProgressBar ProgressBar::ForTrace(std::string_view path, uint64_t total) {
  Settings settings;
  bool terminal = isatty(STDERR_FILENO) == 1;
  if (mode == ProgressMode::kOn || (mode == ProgressMode::kAuto && terminal)) {
    settings.fd = STDERR_FILENO;
    if (terminal) settings.width = TerminalColumns(STDERR_FILENO);
    if (mode == ProgressMode::kAuto && total < kProgressAtOnceBytes) {
      settings.delay = kProgressDelay;
    }
  }
  size_t slash = path.rfind('/');
  return ProgressBar(slash == std::string_view::npos ? path : path.substr(slash + 1), total,
                     std::move(settings));
}

ProgressBar::ProgressBar(std::string_view name, uint64_t total, Settings settings)
    : name_(name), total_(total), settings_(std::move(settings)) {
  if (settings_.fd >= 0) next_draw_ = settings_.now() + settings_.delay;
}

ProgressBar::~ProgressBar() {
  if (drawn_) WriteAll(settings_.fd, absl::StrCat("\r", std::string(settings_.width, ' '), "\r"));
}

void ProgressBar::MaybeDraw() {
  Clock::time_point now = settings_.now();
  if (now < next_draw_) return;
  next_draw_ = now + kProgressInterval;
  WriteAll(settings_.fd, absl::StrCat("\r", ProgressLine(name_, done_, total_, settings_.width)));
  drawn_ = true;
}

}  // namespace poolscope::analysis
