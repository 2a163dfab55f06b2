/* Checks, grows and frees the blocks ctor_alloc_dso.so's constructor allocated before the
 * library's constructor ran. Prints only facts that are the same with and without the library. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctor_alloc.h"

static int holds(const unsigned char* p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] != (unsigned char)(seed + i * 7u)) return 0;
  }
  return 1;
}

int main(void) {
  ctor_blocks_fn get = (ctor_blocks_fn)dlsym(RTLD_DEFAULT, "hazard_ctor_blocks");
  if (get == NULL) {
    puts("ctor_alloc_dso.so is not preloaded");
    return 2;
  }
  struct ctor_blocks* b = get();
  printf("constructor errors: %d\n", b->errors);

  int intact = 0, usable = 0;
  for (int i = 0; i < CTOR_BLOCKS; i++) {
    if (b->ptr[i] == NULL) continue;
    intact += holds(b->ptr[i], b->size[i], (unsigned)i);
    usable += malloc_usable_size(b->ptr[i]) >= b->size[i];
  }
  printf("blocks intact: %d/%d, usable size covers the request: %d/%d\n", intact, CTOR_BLOCKS,
         usable, CTOR_BLOCKS);

  /* Grow every other block (realloc of memory from before the constructor), free the rest. */
  int kept = 0;
  for (int i = 0; i < CTOR_BLOCKS; i++) {
    if (i % 2 == 0) {
      unsigned char* p = realloc(b->ptr[i], b->size[i] * 3 + 100);
      kept += p != NULL && holds(p, b->size[i], (unsigned)i);
      free(p);
    } else {
      free(b->ptr[i]);
    }
  }
  printf("grown blocks kept their contents: %d/%d\n", kept, CTOR_BLOCKS / 2);

  int zero = 1;
  for (size_t k = 0; k < 3000; k++) zero &= ((unsigned char*)b->zeroed)[k] == 0;
  printf("calloc block zeroed: %d\n", zero);
  free(b->zeroed);
  printf("realloc'd block: \"%s\"\n", b->grown);
  b->grown = realloc(b->grown, 16);
  printf("shrunk block: \"%s\"\n", b->grown);
  free(b->grown);
  printf("aligned block 4096-aligned: %d\n", ((uintptr_t)b->aligned & 4095) == 0);
  free(b->aligned);
  printf("strdup: \"%s\"\n", b->copy);
  free(b->copy);

  /* And the heap keeps working afterwards. */
  void* p[1000];
  for (int i = 0; i < 1000; i++) p[i] = malloc((size_t)i * 13 + 1);
  for (int i = 0; i < 1000; i++) free(p[i]);
  puts("done");
  return 0;
}
