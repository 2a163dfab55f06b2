// Workload (d): mixed sizes and lifetimes, ~200 MB live at the peak.
//
// Sizes follow a power law from 16 B to 64 KiB (a truncated Pareto with exponent 1: every
// doubling of size holds the same share of the bytes, while most blocks are small). Lifetimes
// are random: three in five blocks are temporaries freed a few hundred allocations later
// (a ring of 256); the others replace a random slot of a table sized so that the table holds
// LIVE_MB when full, which gives them geometric lifetimes of about a table's worth of
// replacements. Every block is written in full, so resident memory reflects live bytes.
//
// usage: mixed [LIVE_MB] [ROUNDS]   (ROUNDS * table-size long-lived replacements)
#include "bench_common.h"

#define MIN_SIZE 16.0
#define MAX_SIZE 65536.0
#define TEMP_RING 256

static size_t draw_size(bench_rng* rng) {
  // Inverse CDF of P(S > s) = (16 / s - 16 / 65536) / (1 - 16 / 65536).
  double u = bench_unit(rng);
  double s = MIN_SIZE / (1.0 - u * (1.0 - MIN_SIZE / MAX_SIZE));
  return s > MAX_SIZE ? (size_t)MAX_SIZE : (size_t)s;
}

static unsigned char* new_block(bench_rng* rng, uint64_t tag) {
  size_t size = draw_size(rng);
  unsigned char* p = malloc(size);
  if (p == NULL) abort();
  memset(p, (int)(tag & 0xff), size);
  uint64_t v = tag ^ ((uint64_t)size << 32);
  memcpy(p, &v, sizeof v);
  return p;
}

static uint64_t retire(unsigned char* p, uint64_t checksum) {
  if (p == NULL) return checksum;
  uint64_t v;
  memcpy(&v, p, sizeof v);
  free(p);
  return checksum * 31 + v;
}

int main(int argc, char** argv) {
  uint64_t live_mb = bench_arg(argc, argv, 1, 200);
  uint64_t rounds = bench_arg(argc, argv, 2, 3);
  // Mean of the truncated Pareto: 16 * ln(4096) / (1 - 16 / 65536) ~ 133 bytes.
  double mean = MIN_SIZE * 8.317766166719343 / (1.0 - MIN_SIZE / MAX_SIZE);
  uint64_t table_size = (uint64_t)((double)(live_mb << 20) / mean);
  unsigned char** table = calloc(table_size, sizeof *table);
  unsigned char* temps[TEMP_RING] = {0};
  if (table == NULL) return 1;
  bench_rng rng = {12345};
  uint64_t checksum = 0;
  uint64_t long_ops = rounds * table_size;
  uint64_t tag = 0;
  unsigned temp_slot = 0;
  for (uint64_t i = 0; i < long_ops; i++) {
    // 3 temporaries for every 2 long-lived blocks.
    int temps_now = (i & 1) ? 2 : 1;
    for (int t = 0; t < temps_now; t++) {
      checksum = retire(temps[temp_slot], checksum);
      temps[temp_slot] = new_block(&rng, tag++);
      temp_slot = (temp_slot + 1) % TEMP_RING;
    }
    uint64_t s = bench_below(&rng, table_size);
    checksum = retire(table[s], checksum);
    table[s] = new_block(&rng, tag++);
  }
  unsigned long huge_kb = 0, anon_kb = 0;
  bench_hugepages(&huge_kb, &anon_kb);
  for (uint64_t s = 0; s < table_size; s++) checksum = retire(table[s], checksum);
  for (unsigned t = 0; t < TEMP_RING; t++) checksum = retire(temps[t], checksum);
  free(table);
  printf("live-at-end anon %lu kB, huge %lu kB\n", anon_kb, huge_kb);
  printf("checksum %016llx\n", (unsigned long long)checksum);
  return 0;
}
