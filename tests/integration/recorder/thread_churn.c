// Threads started and joined one after another, more of them than the recorder has thread
// slots (4096), each allocating and freeing a block and leaving another in a pthread key whose
// destructor frees it: after the recorder's own key destructor has run, since the program's
// key is created later. With `rearm` that destructor sets a fresh block twice more, so frees
// also arrive in later destructor rounds. A traced run must see each thread once, never run
// out of slots, and record every allocation.
// usage: thread_churn THREADS [rearm]   prints: threads N allocations M (the workers' mallocs)
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_key_t key;
static int rearm;
static __thread int rounds;

static void destroy(void* block) {
  free(block);
  if (rearm && ++rounds < 3) pthread_setspecific(key, malloc(48));
}

static void* work(void* arg) {
  pthread_setspecific(key, malloc(64));
  char* volatile temporary = malloc(100);
  memset(temporary, 1, 100);
  free(temporary);
  return arg;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 100;
  rearm = argc > 2 && strcmp(argv[2], "rearm") == 0;
  if (pthread_key_create(&key, destroy) != 0) return 1;
  for (int i = 0; i < threads; i++) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, work, NULL) != 0 || pthread_join(thread, NULL) != 0) {
      fprintf(stderr, "thread %d failed\n", i);
      return 1;
    }
  }
  printf("threads %d allocations %d\n", threads, threads * (rearm ? 4 : 2));
  return 0;
}
