/* Preloaded next to libpoolscope.so, this library's constructor allocates before the
 * library's own constructor has run (the loader runs the constructors of preloaded objects in
 * reverse order, so it is listed after the library in LD_PRELOAD). It keeps some blocks for the
 * program to check, grow and free later: memory handed out before the library's constructor
 * must stay valid and freeable afterwards. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctor_alloc.h"

static struct ctor_blocks blocks;

static void fill(unsigned char* p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seed + i * 7u);
}

__attribute__((constructor)) static void allocate_early(void) {
  /* Churn first: allocations freed, reallocated and freed again inside the constructor. */
  for (int i = 0; i < 200; i++) {
    void* p = malloc((size_t)(i * 37 % 5000) + 1);
    memset(p, i, (size_t)(i * 37 % 5000) + 1);
    p = realloc(p, (size_t)(i * 53 % 9000) + 1);
    free(p);
    void* z = calloc((size_t)i + 1, 8);
    for (size_t k = 0; k < ((size_t)i + 1) * 8; k++) {
      if (((unsigned char*)z)[k] != 0) blocks.errors++;
    }
    free(z);
  }
  free(malloc(1 << 20)); /* above glibc's mmap threshold */

  /* Then the blocks that outlive the constructor. */
  for (int i = 0; i < CTOR_BLOCKS; i++) {
    size_t n = (size_t)1 << (i % 21); /* 1 byte .. 1 MiB */
    unsigned char* p = malloc(n);
    if (p == NULL) {
      blocks.errors++;
      continue;
    }
    fill(p, n, (unsigned)i);
    blocks.ptr[i] = p;
    blocks.size[i] = n;
  }
  blocks.zeroed = calloc(1000, 3);
  blocks.grown = realloc(NULL, 10);
  memcpy(blocks.grown, "early", 6);
  blocks.grown = realloc(blocks.grown, 100000);
  if (posix_memalign(&blocks.aligned, 4096, 5000) != 0) blocks.errors++;
  blocks.copy = strdup("allocated by a constructor that ran before poolscope's");
}

struct ctor_blocks* hazard_ctor_blocks(void) { return &blocks; }
