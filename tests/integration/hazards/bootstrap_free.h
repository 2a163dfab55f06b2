/* The block bootstrap_free_dso.so allocates while the library initialises. */
#ifndef BOOTSTRAP_FREE_H_
#define BOOTSTRAP_FREE_H_

enum { kBlockSize = 48, kFill = 0x5a };
extern void* block_from_init;

#endif
