// A deterministic workload for sampled recording: about 4.5 GiB allocated in total with a live
// peak of 1.25 GiB, in blocks of log-uniform sizes from 64 B to 4 MiB, none of them touched
// (the sampler only sees sizes; mapped but untouched memory costs next to nothing).
//
//   1. allocate until 1.25 GiB are live (the peak);
//   2. free blocks (pseudo-randomly chosen) until at most 0.5 GiB are live;
//   3. churn: free one, allocate one, keeping 0.4-0.6 GiB live, until 4.5 GiB were allocated;
//   4. free everything but every 16th block.
//
// Prints what it did: allocations, bytes (allocated in total), peak (live bytes), leaked bytes.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_LIVE 65536

static void* blocks[MAX_LIVE];
static size_t sizes[MAX_LIVE];
static int live_count;
static uint64_t live, peak, total, allocations;

static uint64_t state = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void) {
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545f4914f6cdd1dULL;
}

static void allocate(void) {
  double u = (double)(next() >> 11) / 9007199254740992.0;
  size_t size = (size_t)exp(log(64.0) + u * (log(4194304.0) - log(64.0)));
  void* p = malloc(size);
  if (p == NULL || live_count == MAX_LIVE) {
    fprintf(stderr, "cannot allocate %zu bytes\n", size);
    exit(3);
  }
  blocks[live_count] = p;
  sizes[live_count++] = size;
  ++allocations;
  total += size;
  live += size;
  if (live > peak) peak = live;
}

static void release_random(void) {
  int i = (int)(next() % (uint64_t)live_count);
  free(blocks[i]);
  live -= sizes[i];
  blocks[i] = blocks[--live_count];
  sizes[i] = sizes[live_count];
}

int main(void) {
  const uint64_t GiB = 1ull << 30;
  while (live < GiB + GiB / 4) allocate();
  while (live > GiB / 2) release_random();
  while (total < 4 * GiB + GiB / 2) {
    if (live > GiB / 2 + GiB / 10 || (live > GiB / 2 - GiB / 10 && next() % 2 == 0)) {
      release_random();
    } else {
      allocate();
    }
  }
  uint64_t leaked = 0;
  for (int i = live_count - 1; i >= 0; --i) {
    if (i % 16 == 0) {
      leaked += sizes[i];
      continue;
    }
    free(blocks[i]);
  }
  printf("allocations=%llu\nbytes=%llu\npeak=%llu\nleaked_bytes=%llu\n",
         (unsigned long long)allocations, (unsigned long long)total, (unsigned long long)peak,
         (unsigned long long)leaked);
  return 0;
}
