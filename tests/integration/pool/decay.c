// Frees 1 GiB of small blocks and checks that memory goes back to the OS within the decay time
// given as the argument (and set in POOLSCOPE_DECAY_MS by the test), while segments still in
// use keep their huge pages.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smaps.h"

enum { kKeepBlocks = 128 * 1024, kKeepSize = 1000, kChurnSize = 256 };

int main(int argc, char** argv) {
  long decay_ms = argc > 1 ? atol(argv[1]) : 1000;
  // 128 MiB that stays allocated throughout: a heap's first 64 MiB never has huge pages, so
  // this reaches into segments that do.
  void** keep = malloc(sizeof(void*) * kKeepBlocks);
  for (int i = 0; i < kKeepBlocks; ++i) {
    keep[i] = malloc(kKeepSize);
    memset(keep[i], 1, kKeepSize);
  }
  // Sampled across all kept blocks, so every mapping holding them is counted.
  void* kept_sample[256];
  for (int i = 0; i < 256; ++i) kept_sample[i] = keep[i * (kKeepBlocks / 256)];
  struct SmapsTotals kept_before = SmapsOf(kept_sample, 256);

  const size_t kChurn = (size_t)1 << 30;
  size_t count = kChurn / kChurnSize;
  void** churn = malloc(sizeof(void*) * count);
  for (size_t i = 0; i < count; ++i) {
    churn[i] = malloc(kChurnSize);
    memset(churn[i], 2, kChurnSize);
  }
  long full = ResidentKib();
  for (size_t i = 0; i < count; ++i) free(churn[i]);
  usleep((useconds_t)(decay_ms + 200) * 1000);
  long after = ResidentKib();
  struct SmapsTotals kept_after = SmapsOf(kept_sample, 256);
  long released = full - after;
  printf("resident with 1 GiB live %ld MiB, %ld ms after freeing it %ld MiB: released %ld MiB "
         "(%.1f%% of 1 GiB)\n",
         full >> 10, decay_ms + 200, after >> 10, released >> 10, 100.0 * released / (1 << 20));
  printf("AnonHugePages of the mappings holding the 128 MiB still in use: before %ld MiB, after "
         "%ld MiB\n",
         kept_before.anon_huge_kib >> 10, kept_after.anon_huge_kib >> 10);
  int ok = released * 10 >= 9L * (1 << 20);
  if (TransparentHugePagesUsable()) ok &= kept_after.anon_huge_kib >= kept_before.anon_huge_kib;
  for (int i = 0; i < kKeepBlocks; ++i) free(keep[i]);
  return ok ? 0 : 1;
}
