// Sampled recording moves the blocks it samples out of the pool engine's arena (their frees
// must leave the fast path to be recorded). This program checks, from inside, that a moved
// block is still everything it was asked to be, through every way of getting one: malloc,
// calloc (zeroed), the aligned calls (aligned), realloc (contents kept), malloc_usable_size
// (at least the size asked). Two threads churn windows of blocks, each block filled with its own
// pattern and checked before it is freed or reallocated; main frees what both left, so many
// frees are cross-thread.
//
//   sampled_moves [leak]
// With `leak`, the blocks left at the end stay allocated. Prints allocations, bytes (allocated
// in total) and leaked (bytes), then "ok"; exits 1 at the first block found wrong.
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 2
#define WINDOW 2048
#define STEPS 300000

struct Slot {
  unsigned char* p;
  size_t size;
  unsigned char tag;
};

struct Worker {
  struct Slot slots[WINDOW];
  uint64_t state, allocations, bytes;
};

static struct Worker workers[THREADS];

static uint64_t next(struct Worker* w) {
  w->state ^= w->state >> 12;
  w->state ^= w->state << 25;
  w->state ^= w->state >> 27;
  return w->state * 0x2545f4914f6cdd1dULL;
}

static void die(const char* what, const void* p, size_t size) {
  fprintf(stderr, "sampled_moves: %s (block %p, %zu bytes)\n", what, p, size);
  exit(1);
}

static void fill(struct Slot* s) {
  for (size_t i = 0; i < s->size; ++i) s->p[i] = (unsigned char)(s->tag + i * 7);
}

static void check(const struct Slot* s, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    if (s->p[i] != (unsigned char)(s->tag + i * 7)) die("contents changed", s->p, s->size);
  }
}

// Mostly small sizes (the pool's fast path), some medium ones, a few large.
static size_t pick_size(struct Worker* w) {
  uint64_t r = next(w);
  switch (r % 64) {
    case 0: return 65536 + r % (1 << 20);
    case 1: case 2: case 3: return 4096 + r % 61440;
    default: return 1 + (r >> 8) % 2048;
  }
}

static void allocate(struct Worker* w, struct Slot* s) {
  size_t size = pick_size(w);
  uint64_t how = next(w) % 16;
  size_t alignment = 0;
  unsigned char* p;
  if (how < 9) {
    p = malloc(size);
  } else if (how < 11) {
    p = calloc(1, size);
    if (p != NULL) {
      for (size_t i = 0; i < size; ++i) {
        if (p[i] != 0) die("calloc block not zeroed", p, size);
      }
    }
  } else if (how == 11) {
    alignment = 64;
    p = aligned_alloc(alignment, size);
  } else if (how == 12) {
    void* q = NULL;
    alignment = 256;
    p = posix_memalign(&q, alignment, size) == 0 ? q : NULL;
  } else if (how == 13) {
    alignment = 4096;
    p = memalign(alignment, size);
  } else {
    p = realloc(NULL, size);
  }
  if (p == NULL) die("allocation failed", NULL, size);
  if (alignment != 0 && (uintptr_t)p % alignment != 0) die("misaligned", p, size);
  if ((uintptr_t)p % 16 != 0) die("not 16-byte aligned", p, size);
  if (malloc_usable_size(p) < size) die("usable size below the size asked", p, size);
  s->p = p;
  s->size = size;
  s->tag = (unsigned char)next(w);
  fill(s);
  ++w->allocations;
  w->bytes += size;
}

static void* churn(void* arg) {
  struct Worker* w = arg;
  for (int step = 0; step < STEPS; ++step) {
    struct Slot* s = &w->slots[next(w) % WINDOW];
    if (s->p == NULL) {
      allocate(w, s);
    } else if (next(w) % 8 == 0) {
      size_t size = pick_size(w);
      check(s, s->size);
      unsigned char* p = realloc(s->p, size);
      if (p == NULL) die("realloc failed", s->p, size);
      s->p = p;
      check(s, s->size < size ? s->size : size);
      s->size = size;
      fill(s);
      ++w->allocations;
      w->bytes += size;
    } else {
      check(s, s->size);
      free(s->p);
      s->p = NULL;
    }
  }
  return NULL;
}

int main(int argc, char** argv) {
  int leak = argc > 1 && strcmp(argv[1], "leak") == 0;
  pthread_t threads[THREADS];
  for (int t = 0; t < THREADS; ++t) {
    workers[t].state = 0x9e3779b97f4a7c15ULL * (uint64_t)(t + 1);
    if (pthread_create(&threads[t], NULL, churn, &workers[t]) != 0) return 2;
  }
  uint64_t allocations = 0, bytes = 0, leaked = 0;
  for (int t = 0; t < THREADS; ++t) {
    pthread_join(threads[t], NULL);
    allocations += workers[t].allocations;
    bytes += workers[t].bytes;
    for (int i = 0; i < WINDOW; ++i) {
      struct Slot* s = &workers[t].slots[i];
      if (s->p == NULL) continue;
      check(s, s->size);
      if (leak) {
        leaked += s->size;
      } else {
        free(s->p);
      }
    }
  }
  printf("allocations=%llu\nbytes=%llu\nleaked=%llu\nok\n", (unsigned long long)allocations,
         (unsigned long long)bytes, (unsigned long long)leaked);
  return 0;
}
