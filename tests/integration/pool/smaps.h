// Reads /proc/self/smaps for the test programs: Rss and AnonHugePages, in KiB, summed over
// the mappings that contain at least one of the given addresses.
#ifndef POOLSCOPE_TESTS_INTEGRATION_POOL_SMAPS_H_
#define POOLSCOPE_TESTS_INTEGRATION_POOL_SMAPS_H_

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct SmapsTotals {
  long rss_kib;
  long anon_huge_kib;
  int mappings;
};

static inline int ContainsAny(uintptr_t start, uintptr_t end, void* const* addresses, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    uintptr_t a = (uintptr_t)addresses[i];
    if (a >= start && a < end) return 1;
  }
  return 0;
}

static inline struct SmapsTotals SmapsOf(void* const* addresses, size_t count) {
  struct SmapsTotals t = {0, 0, 0};
  FILE* f = fopen("/proc/self/smaps", "r");
  if (!f) {
    perror("/proc/self/smaps");
    exit(2);
  }
  char line[512];
  int inside = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long start, end;
    long kib;
    if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' ')) {
      inside = ContainsAny(start, end, addresses, count);
      t.mappings += inside;
    } else if (inside && sscanf(line, "Rss: %ld kB", &kib) == 1) {
      t.rss_kib += kib;
    } else if (inside && sscanf(line, "AnonHugePages: %ld kB", &kib) == 1) {
      t.anon_huge_kib += kib;
    }
  }
  fclose(f);
  return t;
}

// The process's resident set, in KiB.
static inline long ResidentKib(void) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f)) {
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  }
  if (f) fclose(f);
  return kib;
}

static inline int TransparentHugePagesUsable(void) {
  FILE* f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  char mode[128] = "";
  if (f) {
    if (!fgets(mode, sizeof mode, f)) mode[0] = '\0';
    fclose(f);
  }
  return strstr(mode, "[never]") == NULL && mode[0] != '\0';
}

#endif  // POOLSCOPE_TESTS_INTEGRATION_POOL_SMAPS_H_
