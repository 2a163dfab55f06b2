// 64 threads allocate at once, twice over (the second round's threads reuse the first round's
// recorder slots): in round R (0 or 1) thread T makes PER_THREAD allocations of
// 20001 + 2000*R + 16*T bytes through malloc, calloc and posix_memalign in turn, each freeing
// the block it replaces in a ring of 32, and frees the rest before it ends. All threads of a
// round are released together by a barrier. Prints the counts it made.
//
// Usage: threads64 [PER_THREAD]   (default 5000)
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { kThreads = 64, kRing = 32 };

static pthread_barrier_t barrier;
static int per_thread = 5000;

struct Job {
  int round, index;
};

static void* run(void* arg) {
  struct Job* job = arg;
  size_t size = 20001 + 2000 * (size_t)job->round + 16 * (size_t)job->index;
  void* ring[kRing] = {0};
  pthread_barrier_wait(&barrier);
  for (int i = 0; i < per_thread; ++i) {
    free(ring[i % kRing]);
    void* p = NULL;
    switch (i % 3) {
      case 0:
        p = malloc(size);
        break;
      case 1:
        p = calloc(1, size);
        break;
      case 2:
        if (posix_memalign(&p, 64, size) != 0) p = NULL;
        break;
    }
    if (p == NULL) abort();
    ((volatile char*)p)[0] = (char)i;
    ring[i % kRing] = p;
  }
  for (int i = 0; i < kRing; ++i) free(ring[i]);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc > 1) per_thread = atoi(argv[1]);
  pthread_barrier_init(&barrier, NULL, kThreads);
  for (int round = 0; round < 2; ++round) {
    pthread_t threads[kThreads];
    struct Job jobs[kThreads];
    for (int t = 0; t < kThreads; ++t) {
      jobs[t] = (struct Job){round, t};
      if (pthread_create(&threads[t], NULL, run, &jobs[t]) != 0) return 1;
    }
    for (int t = 0; t < kThreads; ++t) pthread_join(threads[t], NULL);
  }
  printf("threads %d x 2 rounds, %d allocations and frees each\n", kThreads, per_thread);
  return 0;
}
