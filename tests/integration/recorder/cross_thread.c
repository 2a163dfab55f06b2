// Blocks that cross threads: in each round, every one of kThreads workers allocates a batch,
// the next worker in the ring reallocates that batch and the one after it frees it, so each
// block is allocated, reallocated and freed by three different threads (barriers between the
// steps pass the pointers on). The next round's allocations reuse the addresses freed by other
// threads. Sizes span small and medium pool pages and large blocks; reallocations stay in
// place, move to another class, or fail (every 7th is first asked for 2^47 bytes, which no
// allocator can give, and the block lives on); every 50th block is leaked.
//
// The work is framed by poolscope_mark("work-begin") / ("work-end") when the library is there
// (looked up with dlsym, so the same binary runs without it); the threads are started before
// and joined after it. Prints the program's own figures for the work, in the `key=value` form
// of trace_probe window: allocations, reallocs, frees, bytes, leaked_bytes, leaked_blocks.
//
// Usage: cross_thread [PER_BATCH]   (default 2000)
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kThreads = 4, kRounds = 3, kLeakEvery = 50, kFailEvery = 7 };

struct Block {
  void* p;
  size_t size;
};

struct Books {
  uint64_t allocations, reallocs, frees, bytes, leaked_bytes, leaked_blocks;
};

static const size_t kSizes[] = {16, 24, 48, 100, 640, 1500, 9000, 40000, 70000, 200000};
static int per_batch = 2000;
static struct Block* batches[kThreads];
static struct Books books[kThreads];
static pthread_barrier_t start, step, done;

static size_t AllocationSize(int round, int i) {
  return kSizes[(size_t)(i + round) % (sizeof(kSizes) / sizeof(kSizes[0]))] - (size_t)(i % 3);
}

// A size in the same class (in place), a bigger or a smaller one (moved).
static size_t ReallocationSize(size_t size, int i) {
  switch (i % 3) {
    case 0:
      return size - 1;
    case 1:
      return size * 3;
    default:
      return size / 4 + 1;
  }
}

static void Allocate(struct Block* batch, struct Books* b, int round) {
  for (int i = 0; i < per_batch; ++i) {
    size_t size = AllocationSize(round, i);
    void* p = NULL;
    if (i % 2 == 0) {
      p = malloc(size);
    } else if (posix_memalign(&p, 64, size) != 0) {
      p = NULL;
    }
    if (p == NULL) abort();
    memset(p, i, size < 64 ? size : 64);
    batch[i] = (struct Block){p, size};
    ++b->allocations;
    b->bytes += size;
  }
}

static void Reallocate(struct Block* batch, struct Books* b) {
  for (int i = 0; i < per_batch; ++i) {
    if (i % kFailEvery == 0 && realloc(batch[i].p, (size_t)1 << 47) != NULL) {
      fprintf(stderr, "a realloc of 2^47 bytes succeeded\n");
      exit(3);
    }
    size_t size = ReallocationSize(batch[i].size, i);
    void* p = realloc(batch[i].p, size);
    if (p == NULL) abort();
    batch[i] = (struct Block){p, size};
    ++b->reallocs;
    b->bytes += size;
  }
}

static void Free(struct Block* batch, struct Books* b) {
  for (int i = 0; i < per_batch; ++i) {
    if (i % kLeakEvery == 0) {
      ++b->leaked_blocks;
      b->leaked_bytes += batch[i].size;
      continue;
    }
    free(batch[i].p);
    ++b->frees;
  }
}

static void* Work(void* arg) {
  int t = (int)(intptr_t)arg;
  struct Books* b = &books[t];
  pthread_barrier_wait(&start);
  for (int round = 0; round < kRounds; ++round) {
    Allocate(batches[t], b, round);
    pthread_barrier_wait(&step);
    Reallocate(batches[(t + kThreads - 1) % kThreads], b);
    pthread_barrier_wait(&step);
    Free(batches[(t + kThreads - 2) % kThreads], b);
    pthread_barrier_wait(&step);
  }
  pthread_barrier_wait(&done);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc > 1) per_batch = atoi(argv[1]);
  typedef void (*MarkFn)(const char*);
  MarkFn mark = (MarkFn)dlsym(RTLD_DEFAULT, "poolscope_mark");
  pthread_barrier_init(&start, NULL, kThreads + 1);
  pthread_barrier_init(&step, NULL, kThreads);
  pthread_barrier_init(&done, NULL, kThreads + 1);
  pthread_t threads[kThreads];
  for (int t = 0; t < kThreads; ++t) {
    batches[t] = calloc((size_t)per_batch, sizeof(struct Block));
    if (batches[t] == NULL || pthread_create(&threads[t], NULL, Work, (void*)(intptr_t)t) != 0) {
      return 1;
    }
  }
  if (mark) mark("work-begin");
  pthread_barrier_wait(&start);
  pthread_barrier_wait(&done);
  if (mark) mark("work-end");
  struct Books all = {0};
  for (int t = 0; t < kThreads; ++t) {
    pthread_join(threads[t], NULL);
    all.allocations += books[t].allocations;
    all.reallocs += books[t].reallocs;
    all.frees += books[t].frees;
    all.bytes += books[t].bytes;
    all.leaked_bytes += books[t].leaked_bytes;
    all.leaked_blocks += books[t].leaked_blocks;
  }
  printf(
      "allocations=%llu\nreallocs=%llu\nfrees=%llu\nbytes=%llu\nleaked_bytes=%llu\n"
      "leaked_blocks=%llu\n",
      (unsigned long long)all.allocations, (unsigned long long)all.reallocs,
      (unsigned long long)all.frees, (unsigned long long)all.bytes,
      (unsigned long long)all.leaked_bytes, (unsigned long long)all.leaked_blocks);
  return 0;
}
