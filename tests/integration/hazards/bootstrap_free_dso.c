/* Interposes dlsym, which the library calls while it initialises (to find glibc's functions):
 * the first call allocates a block, which the library can only serve from its bootstrap arena
 * then, and keeps it for bootstrap_free_main to free once the engine is running.
 * Forwards every lookup to glibc's dlsym; RTLD_NEXT then means "after this library", which is
 * glibc's definitions only when this library is preloaded after poolscope. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap_free.h"

void* block_from_init;

void* dlsym(void* restrict handle, const char* restrict name) {
  static void* (*glibc_dlsym)(void*, const char*);
  if (block_from_init == NULL) {
    block_from_init = malloc(kBlockSize);
    if (block_from_init != NULL) memset(block_from_init, kFill, kBlockSize);
  }
  if (glibc_dlsym == NULL) {
    glibc_dlsym = (void* (*)(void*, const char*))dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
  }
  return glibc_dlsym(handle, name);
}
