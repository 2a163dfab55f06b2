/* Frees the block bootstrap_free_dso.so allocated while the library initialised (a bootstrap
 * block) once the engine is running, then allocates blocks of its size until it has seen
 * plenty: a bootstrap block must be ignored by free, never reach the engine, which would
 * abort or hand the library's own memory out again. dladdr tells where a block lives. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap_free.h"

static int in_poolscope(const void* p) {
  Dl_info info;
  return dladdr(p, &info) != 0 && info.dli_fname != NULL &&
         strstr(info.dli_fname, "libpoolscope") != NULL;
}

int main(void) {
  unsigned char* block = block_from_init;
  printf("block from init is a bootstrap block=%d\n", block != NULL && in_poolscope(block));
  int kept = block != NULL;
  for (int i = 0; kept && i < kBlockSize; i++) kept = block[i] == kFill;
  printf("contents kept=%d\n", kept);
  free(block);

  enum { kLive = 64 };
  void* live[kLive] = {0};
  int handed_out_again = 0;
  for (int i = 0; i < 100000; i++) {
    free(live[i % kLive]);
    live[i % kLive] = malloc(kBlockSize);
    handed_out_again |= in_poolscope(live[i % kLive]);
  }
  for (int i = 0; i < kLive; i++) free(live[i]);
  printf("library memory handed out again=%d\n", handed_out_again);
  return 0;
}
