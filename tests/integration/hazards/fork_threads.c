/* fork in a multi-threaded process while four other threads allocate and free continuously.
 * The child inherits whatever locks those threads held at the instant of fork: it must still
 * be able to malloc, calloc, realloc and free (glibc resets its arenas in the child; an engine
 * does the same through its pthread_atfork handlers). 200 forks; every child must exit 0.
 * Prints only deterministic counts. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kThreads = 4, kForks = 200, kSlots = 256 };

static atomic_int stop;
static atomic_long thread_errors;

static size_t size_for(unsigned r) {
  switch (r % 64) {
    case 0: return 100000 + r % 300000; /* around glibc's mmap threshold */
    case 1:
    case 2:
    case 3: return 4096 + r % 60000;
    default: return 1 + r % 1024;
  }
}

static void* churn(void* arg) {
  unsigned r = (unsigned)(uintptr_t)arg * 2654435761u;
  unsigned char* slot[kSlots] = {0};
  size_t len[kSlots] = {0};
  for (unsigned long op = 1; !atomic_load_explicit(&stop, memory_order_relaxed); op++) {
    /* Bursts of 500 operations with short pauses: busy enough that forks regularly land while
     * some thread is inside the allocator, light enough for a shared two-core machine. */
    if (op % 500 == 0) usleep(50);
    r = r * 1103515245u + 12345u;
    unsigned i = (r >> 8) % kSlots;
    if (slot[i] != NULL) {
      if (slot[i][0] != (unsigned char)i || slot[i][len[i] - 1] != (unsigned char)i) {
        atomic_fetch_add(&thread_errors, 1);
      }
      if (r & 0x10000) {
        free(slot[i]);
        slot[i] = NULL;
        continue;
      }
      size_t n = size_for(r >> 3);
      unsigned char* p = realloc(slot[i], n);
      if (p == NULL) {
        atomic_fetch_add(&thread_errors, 1);
        continue;
      }
      slot[i] = p;
      len[i] = n;
    } else {
      len[i] = size_for(r >> 3);
      slot[i] = (r & 0x20000) ? calloc(1, len[i]) : malloc(len[i]);
      if (slot[i] == NULL) {
        atomic_fetch_add(&thread_errors, 1);
        continue;
      }
    }
    memset(slot[i], (int)i, len[i] < 64 ? len[i] : 64);
    slot[i][len[i] - 1] = (unsigned char)i;
  }
  for (int i = 0; i < kSlots; i++) free(slot[i]);
  return NULL;
}

static void* background_churn(void* arg) {
  /* Lowest priority: on a small machine the children and the forking thread must not queue
   * behind four busy threads. They still run whenever a core is free, and a thread descheduled
   * inside malloc keeps its locks, which is the case that matters. */
  setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
  return churn(arg);
}

/* In the child: only the forking thread exists; the heap must be fully usable. */
static int child_work(int round) {
  void* p[200];
  for (int i = 0; i < 200; i++) {
    size_t n = size_for((unsigned)(round * 200 + i) * 2654435761u);
    p[i] = (i % 3 == 0) ? calloc(n, 1) : malloc(n);
    if (p[i] == NULL) return 1;
    memset(p[i], i, n < 256 ? n : 256);
  }
  for (int i = 0; i < 200; i += 2) {
    p[i] = realloc(p[i], 3000);
    if (p[i] == NULL) return 1;
  }
  for (int i = 0; i < 200; i++) {
    if (((unsigned char*)p[i])[0] != (unsigned char)i) return 1;
    free(p[i]);
  }
  /* A thread in the child allocates too. */
  pthread_t t;
  if (pthread_create(&t, NULL, churn, (void*)(uintptr_t)round) != 0) return 1;
  usleep(200);
  atomic_store(&stop, 1);
  pthread_join(t, NULL);
  return atomic_load(&thread_errors) != 0;
}

int main(void) {
  pthread_t threads[kThreads];
  for (int i = 0; i < kThreads; i++) {
    if (pthread_create(&threads[i], NULL, background_churn, (void*)(uintptr_t)(i + 1)) != 0) return 2;
  }
  int exited_zero = 0, failed = 0;
  for (int round = 0; round < kForks; round++) {
    /* Parent allocates around fork too. */
    void* mine = malloc((size_t)round * 100 + 1);
    pid_t pid = fork();
    if (pid < 0) {
      failed++;
    } else if (pid == 0) {
      _exit(child_work(round));
    } else {
      int status;
      if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        exited_zero++;
      }
    }
    free(mine);
  }
  atomic_store(&stop, 1);
  for (int i = 0; i < kThreads; i++) pthread_join(threads[i], NULL);
  printf("forks: %d, children exited 0: %d, fork failures: %d, thread errors: %ld\n", kForks,
         exited_zero, failed, atomic_load(&thread_errors));
  return exited_zero == kForks && atomic_load(&thread_errors) == 0 ? 0 : 1;
}
