// Workload (b): a larson-style server simulation.
//
// THREADS threads each own an array of SLOTS blocks (16-512 bytes) and replace random slots
// in it, OPS times per round; between rounds every thread hands its array to the next thread
// (array a goes to thread (a + round) % THREADS), so most frees are of blocks another thread
// allocated. Each array carries its own random state, so the work done on it - and the
// checksum - does not depend on which thread ran it or on the schedule.
//
// usage: larson [THREADS] [ROUNDS] [OPS_PER_ROUND] [SLOTS]
#include <pthread.h>

#include "bench_common.h"

typedef struct {
  unsigned char** slots;
  bench_rng rng;
  uint64_t checksum;
} slot_array;

static uint64_t g_threads, g_rounds, g_ops, g_slots;
static slot_array* g_arrays;
static pthread_barrier_t g_barrier;

static unsigned char* new_block(slot_array* a, uint64_t tag) {
  size_t size = 16 + (size_t)bench_below(&a->rng, 497);
  unsigned char* p = malloc(size);
  if (p == NULL) abort();
  uint64_t v = tag ^ (size << 40);
  memcpy(p, &v, sizeof v);
  p[size - 1] = (unsigned char)tag;
  return p;
}

static void retire(slot_array* a, unsigned char* p) {
  uint64_t v;
  memcpy(&v, p, sizeof v);
  a->checksum = a->checksum * 33 + v;
  free(p);
}

static void* worker(void* arg) {
  uint64_t self = (uint64_t)(uintptr_t)arg;
  // Each thread fills its first array itself.
  slot_array* a = &g_arrays[self];
  for (uint64_t s = 0; s < g_slots; s++) a->slots[s] = new_block(a, s);
  pthread_barrier_wait(&g_barrier);
  for (uint64_t r = 0; r < g_rounds; r++) {
    a = &g_arrays[(self + r) % g_threads];
    for (uint64_t i = 0; i < g_ops; i++) {
      uint64_t s = bench_below(&a->rng, g_slots);
      retire(a, a->slots[s]);
      a->slots[s] = new_block(a, r * g_ops + i);
    }
    pthread_barrier_wait(&g_barrier);
  }
  // Whoever holds an array at the end frees it.
  a = &g_arrays[(self + g_rounds) % g_threads];
  for (uint64_t s = 0; s < g_slots; s++) retire(a, a->slots[s]);
  return NULL;
}

int main(int argc, char** argv) {
  g_threads = bench_arg(argc, argv, 1, 2);
  g_rounds = bench_arg(argc, argv, 2, 400);
  g_ops = bench_arg(argc, argv, 3, 50000);
  g_slots = bench_arg(argc, argv, 4, 5000);
  g_arrays = calloc(g_threads, sizeof *g_arrays);
  pthread_t* tids = calloc(g_threads, sizeof *tids);
  if (g_arrays == NULL || tids == NULL) return 1;
  for (uint64_t t = 0; t < g_threads; t++) {
    g_arrays[t].slots = calloc(g_slots, sizeof(unsigned char*));
    if (g_arrays[t].slots == NULL) return 1;
    g_arrays[t].rng.s = 1000 + t;
  }
  pthread_barrier_init(&g_barrier, NULL, (unsigned)g_threads);
  for (uint64_t t = 0; t < g_threads; t++) {
    if (pthread_create(&tids[t], NULL, worker, (void*)(uintptr_t)t) != 0) return 1;
  }
  uint64_t checksum = 0;
  for (uint64_t t = 0; t < g_threads; t++) pthread_join(tids[t], NULL);
  for (uint64_t t = 0; t < g_threads; t++) {
    checksum = checksum * 1000003 + g_arrays[t].checksum;
    free(g_arrays[t].slots);
  }
  pthread_barrier_destroy(&g_barrier);
  free(g_arrays);
  free(tids);
  printf("checksum %016llx\n", (unsigned long long)checksum);
  return 0;
}
