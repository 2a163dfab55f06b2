// Helpers shared by the benchmark workloads: a fast deterministic random generator, argument
// parsing, a monotonic clock, and a reader of the process's huge-page coverage that does not
// allocate (it must not disturb the heap it is measuring).
//
// Every workload prints one line `checksum <hex>` on stdout. The value depends only on the
// size arguments, never on the allocator or the thread schedule, so scripts/bench.sh can check
// that every allocator computed the same thing.
#ifndef POOLSCOPE_TESTS_BENCH_BENCH_COMMON_H_
#define POOLSCOPE_TESTS_BENCH_BENCH_COMMON_H_

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// xoshiro-style generators are overkill here: splitmix64 is fast, has a 64-bit state that
// threads seed independently, and passes the tests that matter for picking slots and sizes.
typedef struct {
  uint64_t s;
} bench_rng;

static inline uint64_t bench_next(bench_rng* r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform in [0, n) without a division (Lemire's multiply-shift; the bias is negligible here).
static inline uint64_t bench_below(bench_rng* r, uint64_t n) {
  return (uint64_t)(((unsigned __int128)bench_next(r) * n) >> 64);
}

// Uniform in [0, 1).
static inline double bench_unit(bench_rng* r) {
  return (double)(bench_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

// Parses argv[i] as a positive integer (suffixes k, m, g are powers of 1024), or returns
// `fallback` when the argument is absent. Exits with status 2 on a malformed value.
static inline uint64_t bench_arg(int argc, char** argv, int i, uint64_t fallback) {
  if (i >= argc) return fallback;
  char* end = NULL;
  errno = 0;
  unsigned long long v = strtoull(argv[i], &end, 10);
  if (errno != 0 || end == argv[i]) {
    fprintf(stderr, "%s: bad number '%s'\n", argv[0], argv[i]);
    exit(2);
  }
  switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    case 'g': case 'G': v <<= 30; end++; break;
    default: break;
  }
  if (*end != '\0' || v == 0) {
    fprintf(stderr, "%s: bad number '%s'\n", argv[0], argv[i]);
    exit(2);
  }
  return (uint64_t)v;
}

// AnonHugePages and Anonymous (kB) of the whole process, from /proc/self/smaps_rollup, read
// with plain system calls into a stack buffer. Returns 0 on success.
static inline int bench_hugepages(unsigned long* anon_huge_kb, unsigned long* anon_kb) {
  char buf[8192];
  int fd = open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
    if (len == sizeof buf - 1) break;
  }
  close(fd);
  buf[len] = '\0';
  const char* huge = strstr(buf, "\nAnonHugePages:");
  const char* anon = strstr(buf, "\nAnonymous:");
  if (huge == NULL || anon == NULL) return -1;
  *anon_huge_kb = strtoul(huge + strlen("\nAnonHugePages:"), NULL, 10);
  *anon_kb = strtoul(anon + strlen("\nAnonymous:"), NULL, 10);
  return 0;
}

#endif  // POOLSCOPE_TESTS_BENCH_BENCH_COMMON_H_
