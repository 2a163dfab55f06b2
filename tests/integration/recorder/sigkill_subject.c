// Allocates blocks of SIZE bytes (freeing each 1024 allocations later) at a steady pace until
// killed, and appends "MONOTONIC_NS ALLOCATIONS\n" to PROGRESS after every 10,000 allocations,
// with one write(2) each, so the line is on disk however the process dies: the test that
// kills it knows how many allocations the program had made by when.
//
// Usage: sigkill_subject PROGRESS SIZE RATE   (RATE: allocations per second at most)
// Exits 1 after 60 s if nobody killed it.
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void* volatile ring[1024];

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  if (fd < 0) return 2;
  size_t size = strtoull(argv[2], NULL, 10);
  double rate = strtod(argv[3], NULL);
  uint64_t start = now_ns();
  for (uint64_t count = 1;; ++count) {
    size_t slot = count % 1024;
    free(ring[slot]);
    ring[slot] = malloc(size);
    if (ring[slot] == NULL) return 3;
    if (count % 10000 == 0) {
      uint64_t t = now_ns();
      char line[64];
      int n = snprintf(line, sizeof line, "%llu %llu\n", (unsigned long long)t,
                       (unsigned long long)count);
      if (write(fd, line, (size_t)n) != n) return 4;
      // Stay at or below RATE so a few seconds hold a few million allocations, not more.
      uint64_t due = start + (uint64_t)(count / rate * 1e9);
      if (due > t) {
        struct timespec pause = {(time_t)((due - t) / 1000000000u), (long)((due - t) % 1000000000u)};
        nanosleep(&pause, NULL);
      }
      if (t - start > 60000000000ull) return 1;
    }
  }
}
