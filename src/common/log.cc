#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>

namespace poolscope::common {
namespace {

class Sink {
 public:
  Sink(char* buf, size_t cap) : buf_(buf), cap_(cap) {}
  void Put(char c) {
    if (len_ + 1 < cap_) buf_[len_++] = c;
  }
  void Put(const char* s) {
    while (*s) Put(*s++);
  }
  void PutUnsigned(uint64_t v, unsigned base) {
    char digits[24];
    int n = 0;
    do {
      digits[n++] = "0123456789abcdef"[v % base];
      v /= base;
    } while (v != 0);
    while (n > 0) Put(digits[--n]);
  }
  void PutSigned(int64_t v) {
    if (v < 0) {
      Put('-');
      // Negate in unsigned arithmetic so INT64_MIN does not overflow.
      PutUnsigned(~static_cast<uint64_t>(v) + 1, 10);
    } else {
      PutUnsigned(static_cast<uint64_t>(v), 10);
    }
  }
  size_t Finish() {
    if (cap_ > 0) buf_[len_] = '\0';
    return len_;
  }

 private:
  char* buf_;
  size_t cap_;
  size_t len_ = 0;
};

enum class Width { kInt, kLong, kLongLong, kSize };

}  // namespace

size_t FormatV(char* buf, size_t cap, const char* fmt, va_list args) {
  Sink out(buf, cap);
  for (const char* f = fmt; *f; ++f) {
    if (*f != '%') {
      out.Put(*f);
      continue;
    }
    ++f;
    Width width = Width::kInt;
    if (*f == 'z') {
      width = Width::kSize;
      ++f;
    } else if (*f == 'l') {
      width = Width::kLong;
      ++f;
      if (*f == 'l') {
        width = Width::kLongLong;
        ++f;
      }
    }
    switch (*f) {
      case 'd':
      case 'i': {
        int64_t v = width == Width::kInt    ? va_arg(args, int)
                    : width == Width::kLong ? va_arg(args, long)
                    : width == Width::kSize ? va_arg(args, ptrdiff_t)
                                            : va_arg(args, long long);
        out.PutSigned(v);
        break;
      }
      case 'u':
      case 'x': {
        uint64_t v = width == Width::kInt    ? va_arg(args, unsigned)
                     : width == Width::kLong ? va_arg(args, unsigned long)
                     : width == Width::kSize ? va_arg(args, size_t)
                                             : va_arg(args, unsigned long long);
        out.PutUnsigned(v, *f == 'x' ? 16 : 10);
        break;
      }
      case 'p':
        out.Put("0x");
        out.PutUnsigned(reinterpret_cast<uintptr_t>(va_arg(args, void*)), 16);
        break;
      case 's': {
        const char* s = va_arg(args, const char*);
        out.Put(s ? s : "(null)");
        break;
      }
      case 'c':
        out.Put(static_cast<char>(va_arg(args, int)));
        break;
      case '%':
        out.Put('%');
        break;
      case '\0':
        return out.Finish();
      default:
        out.Put('%');
        out.Put(*f);
        break;
    }
  }
  return out.Finish();
}

size_t Format(char* buf, size_t cap, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  size_t n = FormatV(buf, cap, fmt, args);
  va_end(args);
  return n;
}

namespace {

// The stderr seen at start-up: a private descriptor for it, and its identity.
int log_fd = STDERR_FILENO;
dev_t log_device = 0;
ino_t log_inode = 0;
bool log_known = false;

bool NamesStartupStderr(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && st.st_dev == log_device && st.st_ino == log_inode;
}

// Where a message may go now: the private copy, else fd 2 if it is still the same file, else
// nowhere.
int LogDestination() {
  if (!log_known) return log_fd;
  if (log_fd != STDERR_FILENO && NamesStartupStderr(log_fd)) return log_fd;
  if (NamesStartupStderr(STDERR_FILENO)) return STDERR_FILENO;
  return -1;
}

}  // namespace

void KeepStderr() {
  int saved_errno = errno;
  struct stat st;
  if (fstat(STDERR_FILENO, &st) == 0) {
    log_device = st.st_dev;
    log_inode = st.st_ino;
    log_known = true;
    int copy = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 900);
    if (copy >= 0) log_fd = copy;
  } else {
    log_fd = -1;  // started without stderr: whatever fd 2 becomes is the program's
  }
  errno = saved_errno;
}

void LogLine(const char* fmt, ...) {
  int saved_errno = errno;
  char line[512];
  size_t n = Format(line, sizeof(line), "poolscope: ");
  va_list args;
  va_start(args, fmt);
  n += FormatV(line + n, sizeof(line) - n - 1, fmt, args);
  va_end(args);
  line[n++] = '\n';
  int fd = LogDestination();
  for (size_t done = 0; fd >= 0 && done < n;) {
    ssize_t w = write(fd, line + done, n - done);
    if (w > 0) {
      done += static_cast<size_t>(w);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  errno = saved_errno;
}

}  // namespace poolscope::common
