// Workload (e): big arrays - where huge pages matter.
//
// 1. COUNT arrays of ARRAY_MIB MiB of doubles are allocated and first touched (written in
//    order): page-fault and zeroing cost.
// 2. UPDATES GUPS-style random read-modify-writes spread over all of them: TLB-bound, so
//    2 MiB pages pay off here. The process's huge-page coverage (AnonHugePages / Anonymous
//    from /proc/self/smaps_rollup) is read now, while the arrays are live.
// 3. The arrays are freed and one buffer grows by realloc from 1 MiB to REALLOC_MIB MiB in
//    steps of 25 %, the new part written each time: mremap versus copying. Coverage is read
//    again while the grown buffer is live.
// Prints `metrics` with each phase's time and both coverages, and the checksum.
//
// usage: big_arrays [ARRAY_MIB] [COUNT] [UPDATES] [REALLOC_MIB]
#include "bench_common.h"

static double coverage(unsigned long* huge_kb, unsigned long* anon_kb) {
  *huge_kb = *anon_kb = 0;
  if (bench_hugepages(huge_kb, anon_kb) != 0 || *anon_kb == 0) return -1.0;
  return 100.0 * (double)*huge_kb / (double)*anon_kb;
}

int main(int argc, char** argv) {
  uint64_t array_mib = bench_arg(argc, argv, 1, 256);
  uint64_t count = bench_arg(argc, argv, 2, 4);
  uint64_t updates = bench_arg(argc, argv, 3, 20000000);
  uint64_t realloc_mib = bench_arg(argc, argv, 4, 1024);
  uint64_t per = (array_mib << 20) / sizeof(double);
  double** arrays = calloc(count, sizeof *arrays);
  if (arrays == NULL) return 1;

  double t0 = bench_now();
  for (uint64_t a = 0; a < count; a++) {
    arrays[a] = malloc(per * sizeof(double));
    if (arrays[a] == NULL) {
      fprintf(stderr, "big_arrays: malloc of %llu MiB failed\n", (unsigned long long)array_mib);
      return 1;
    }
    double* x = arrays[a];
    for (uint64_t i = 0; i < per; i++) x[i] = (double)(i & 1023);
  }
  double t1 = bench_now();

  bench_rng rng = {99};
  uint64_t total = per * count;
  for (uint64_t u = 0; u < updates; u++) {
    uint64_t idx = bench_below(&rng, total);
    double* x = arrays[idx / per];
    x[idx % per] += 1.0;
  }
  double t2 = bench_now();
  unsigned long arrays_huge_kb, arrays_anon_kb;
  double arrays_cov = coverage(&arrays_huge_kb, &arrays_anon_kb);

  double sum = 0.0;
  for (uint64_t a = 0; a < count; a++) {
    for (uint64_t i = 0; i < per; i += 511) sum += arrays[a][i];
    free(arrays[a]);
  }
  free(arrays);

  double t3 = bench_now();
  size_t size = (size_t)1 << 20;
  size_t target = (size_t)realloc_mib << 20;
  unsigned char* buf = malloc(size);
  if (buf == NULL) return 1;
  memset(buf, 1, size);
  uint64_t steps = 0;
  while (size < target) {
    size_t next = size + size / 4;
    next = (next + 4095) & ~(size_t)4095;
    if (next > target) next = target;
    unsigned char* grown = realloc(buf, next);
    if (grown == NULL) {
      fprintf(stderr, "big_arrays: realloc to %zu bytes failed\n", next);
      return 1;
    }
    buf = grown;
    memset(buf + size, (int)(steps & 0xff), next - size);
    size = next;
    steps++;
  }
  double t4 = bench_now();
  unsigned long realloc_huge_kb, realloc_anon_kb;
  double realloc_cov = coverage(&realloc_huge_kb, &realloc_anon_kb);
  uint64_t bytes = 0;
  for (size_t i = 0; i < size; i += 4093) bytes += buf[i];
  free(buf);

  printf("metrics first_touch_s=%.3f gups_s=%.3f realloc_s=%.3f hp_arrays=%.1f hp_realloc=%.1f\n",
         t1 - t0, t2 - t1, t4 - t3, arrays_cov, realloc_cov);
  printf("arrays: AnonHugePages %lu kB of Anonymous %lu kB; realloc-grown: %lu kB of %lu kB "
         "(%llu reallocs)\n",
         arrays_huge_kb, arrays_anon_kb, realloc_huge_kb, realloc_anon_kb,
         (unsigned long long)steps);
  uint64_t sum_bits;
  memcpy(&sum_bits, &sum, sizeof sum_bits);
  printf("checksum %016llx\n", (unsigned long long)(sum_bits ^ (bytes << 1)));
  return 0;
}
