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

// Writes "poolscope: <message>\n" to the process's stderr as a single write.
void LogLine(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Keeps a private, close-on-exec copy of the stderr the process started with, so diagnostics
// keep going there after the program closes fd 2 or dup2s its own file over it: a message of
// ours must never land in the program's files. Called once at start-up.
void KeepStderr();

}  // namespace poolscope::common

#endif  // POOLSCOPE_SRC_COMMON_LOG_H_
