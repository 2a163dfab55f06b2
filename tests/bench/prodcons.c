// Workload (c): producer/consumer - every free is remote.
//
// One thread allocates COUNT blocks of 16-256 bytes, writes a value into each and pushes it
// through a bounded lock-free single-producer/single-consumer ring of CAPACITY slots; a second
// thread pops each block, reads the value and frees it. The ring is FIFO, so the checksum does
// not depend on the schedule.
//
// usage: prodcons [COUNT] [CAPACITY]
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "bench_common.h"

#define CACHE_LINE 64

static struct {
  _Alignas(CACHE_LINE) _Atomic uint64_t head;  // next slot the consumer reads
  _Alignas(CACHE_LINE) _Atomic uint64_t tail;  // next slot the producer writes
  _Alignas(CACHE_LINE) unsigned char** slots;
  uint64_t mask;
} g_ring;

static uint64_t g_count;
static uint64_t g_consumer_checksum;

static inline void backoff(unsigned* spins) {
  if (++*spins < 64) {
    __builtin_ia32_pause();
  } else {
    *spins = 0;
    sched_yield();
  }
}

static void* producer(void* arg) {
  (void)arg;
  bench_rng rng = {7};
  uint64_t tail = 0;
  uint64_t head_cache = 0;
  for (uint64_t i = 0; i < g_count; i++) {
    size_t size = 16 + (size_t)bench_below(&rng, 241);
    unsigned char* p = malloc(size);
    if (p == NULL) abort();
    uint64_t v = i * 0x9e3779b97f4a7c15ULL ^ size;
    memcpy(p, &v, sizeof v);
    p[size - 1] = (unsigned char)i;
    unsigned spins = 0;
    while (tail - head_cache > g_ring.mask) {
      head_cache = atomic_load_explicit(&g_ring.head, memory_order_acquire);
      if (tail - head_cache > g_ring.mask) backoff(&spins);
    }
    g_ring.slots[tail & g_ring.mask] = p;
    atomic_store_explicit(&g_ring.tail, ++tail, memory_order_release);
  }
  return NULL;
}

static void* consumer(void* arg) {
  (void)arg;
  uint64_t head = 0;
  uint64_t tail_cache = 0;
  uint64_t checksum = 0;
  for (uint64_t i = 0; i < g_count; i++) {
    unsigned spins = 0;
    while (head == tail_cache) {
      tail_cache = atomic_load_explicit(&g_ring.tail, memory_order_acquire);
      if (head == tail_cache) backoff(&spins);
    }
    unsigned char* p = g_ring.slots[head & g_ring.mask];
    atomic_store_explicit(&g_ring.head, ++head, memory_order_release);
    uint64_t v;
    memcpy(&v, p, sizeof v);
    checksum = checksum * 31 + v;
    free(p);
  }
  g_consumer_checksum = checksum;
  return NULL;
}

int main(int argc, char** argv) {
  g_count = bench_arg(argc, argv, 1, 20000000);
  uint64_t capacity = bench_arg(argc, argv, 2, 4096);
  uint64_t pow2 = 1;
  while (pow2 < capacity) pow2 <<= 1;
  g_ring.slots = calloc(pow2, sizeof *g_ring.slots);
  if (g_ring.slots == NULL) return 1;
  g_ring.mask = pow2 - 1;
  pthread_t prod, cons;
  if (pthread_create(&cons, NULL, consumer, NULL) != 0) return 1;
  if (pthread_create(&prod, NULL, producer, NULL) != 0) return 1;
  pthread_join(prod, NULL);
  pthread_join(cons, NULL);
  free(g_ring.slots);
  printf("checksum %016llx\n", (unsigned long long)g_consumer_checksum);
  return 0;
}
