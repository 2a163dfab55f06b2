/* What ctor_alloc_dso.so's constructor leaves for ctor_alloc_main to check and free. */
#ifndef POOLSCOPE_TESTS_HAZARDS_CTOR_ALLOC_H_
#define POOLSCOPE_TESTS_HAZARDS_CTOR_ALLOC_H_

#include <stddef.h>

#define CTOR_BLOCKS 64

struct ctor_blocks {
  unsigned char* ptr[CTOR_BLOCKS]; /* ptr[i] holds size[i] bytes of fill(i) */
  size_t size[CTOR_BLOCKS];
  void* zeroed;  /* calloc(1000, 3) */
  char* grown;   /* "early", grown to 100000 bytes by realloc */
  void* aligned; /* posix_memalign(4096, 5000) */
  char* copy;    /* strdup */
  int errors;    /* anything that went wrong inside the constructor */
};

typedef struct ctor_blocks* (*ctor_blocks_fn)(void);

#endif /* POOLSCOPE_TESTS_HAZARDS_CTOR_ALLOC_H_ */
