// Workload (a): single-threaded small-block churn.
//
// A ring of WINDOW slots; every iteration frees the block in the next slot and allocates a new
// one of 8-512 bytes (uniform), writes its first and last bytes and remembers a value read back
// when it is freed. Tens of millions of malloc/free pairs over a tiny live set: the allocator's
// fast path and nothing else.
//
// usage: small_churn [ITERATIONS] [WINDOW]
#include "bench_common.h"

int main(int argc, char** argv) {
  uint64_t iterations = bench_arg(argc, argv, 1, 40000000);
  uint64_t window = bench_arg(argc, argv, 2, 1000);
  unsigned char** ring = calloc(window, sizeof *ring);
  if (ring == NULL) return 1;
  bench_rng rng = {42};
  uint64_t checksum = 0;
  uint64_t slot = 0;
  for (uint64_t i = 0; i < iterations; i++) {
    unsigned char* old = ring[slot];
    if (old != NULL) {
      uint64_t v;
      memcpy(&v, old, sizeof v);
      checksum = checksum * 31 + v;
      free(old);
    }
    size_t size = 8 + (size_t)bench_below(&rng, 505);
    unsigned char* p = malloc(size);
    if (p == NULL) return 1;
    uint64_t v = i ^ size;
    memcpy(p, &v, sizeof v);
    p[size - 1] = (unsigned char)i;
    checksum += p[size - 1];
    ring[slot] = p;
    if (++slot == window) slot = 0;
  }
  for (uint64_t s = 0; s < window; s++) free(ring[s]);
  free(ring);
  printf("checksum %016llx\n", (unsigned long long)checksum);
  return 0;
}
