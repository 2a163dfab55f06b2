// Diagnostics from inside the preload library.
//
// Everything here formats into a stack buffer and issues one write(2) to stderr: it never
// allocates, takes no locks and is async-signal-safe, so it may be called on the allocation
// path, before initialisation and from signal handlers. Supported conversions: %s %c %d %i %u
// %x %p %% with the length modifiers l, ll and z.
#ifndef POOLSCOPE_SRC_COMMON_LOG_H_
#define POOLSCOPE_SRC_COMMON_LOG_H_

#include <cstdarg>
#include <cstddef>

namespace poolscope::common {

// Formats into buf (always NUL-terminated, truncated to fit) and returns the length written.
size_t FormatV(char* buf, size_t cap, const char* fmt, va_list args);
size_t Format(char* buf, size_t cap, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

// Writes "poolscope: <message>\n" to stderr as a single write.
void LogLine(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace poolscope::common

#endif  // POOLSCOPE_SRC_COMMON_LOG_H_
