// Holds 1 GiB of small blocks and prints how much of the memory holding them is in huge
// pages. Exits 1 below 90 %, 77 (skip) when transparent huge pages are disabled.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smaps.h"

int main(void) {
  if (!TransparentHugePagesUsable()) {
    printf("SKIP: transparent huge pages are disabled on this machine\n");
    return 77;
  }
  const size_t kTotal = (size_t)1 << 30;
  const size_t kSizes[] = {16, 48, 100, 256, 700, 3000};
  size_t count = 0, bytes = 0;
  void** blocks = malloc(sizeof(void*) * (kTotal / 16));
  while (bytes < kTotal) {
    size_t size = kSizes[count % 6];
    blocks[count] = malloc(size);
    memset(blocks[count], (int)count, size);
    bytes += size;
    count++;
  }
  // A sample spread over all the blocks finds every mapping that holds them.
  enum { kSample = 4096 };
  void* sample[kSample];
  for (size_t i = 0; i < kSample; ++i) sample[i] = blocks[i * (count / kSample)];
  struct SmapsTotals t = SmapsOf(sample, kSample);
  double coverage = t.rss_kib > 0 ? 100.0 * t.anon_huge_kib / t.rss_kib : 0;
  printf("%zu blocks, %zu MiB requested; their mappings (%d): Rss %ld MiB, AnonHugePages %ld MiB,"
         " coverage %.1f%%\n",
         count, bytes >> 20, t.mappings, t.rss_kib >> 10, t.anon_huge_kib >> 10, coverage);
  for (size_t i = 0; i < count; ++i) free(blocks[i]);
  free(blocks);
  return coverage >= 90.0 ? 0 : 1;
}
