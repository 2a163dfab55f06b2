/* poolscope's optional C API for programs that want to talk to the preload library.
 *
 * A program never needs to link against poolscope to use it: look the functions up at run time,
 * so the same binary runs with or without the library:
 *
 *   #include <dlfcn.h>
 *   #include <poolscope/poolscope.h>
 *   poolscope_get_stats_fn get = (poolscope_get_stats_fn)dlsym(RTLD_DEFAULT,
 *                                                              "poolscope_get_stats");
 *   struct poolscope_stats s = {sizeof s};
 *   if (get && get(&s) == 0) printf("%s served %llu mallocs\n", s.engine, s.malloc_calls);
 *
 * Counters are kept only while POOLSCOPE_STATS=1; they count calls into the library's entry
 * points since start-up, from every thread.
 */
#ifndef POOLSCOPE_POOLSCOPE_H_
#define POOLSCOPE_POOLSCOPE_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct poolscope_stats {
  /* Set by the caller to sizeof(struct poolscope_stats): fields past it are not written, so a
   * program built against an older header keeps working with a newer library. */
  uint64_t struct_size;
  char engine[16]; /* the engine serving allocations: "libc", ... */
  uint64_t malloc_calls;
  uint64_t calloc_calls;
  uint64_t realloc_calls; /* realloc and reallocarray */
  uint64_t aligned_calls; /* posix_memalign, aligned_alloc, memalign, valloc, pvalloc */
  uint64_t free_calls;    /* free, cfree, free_sized, free_aligned_sized */
  uint64_t new_calls;     /* every operator new form */
  uint64_t delete_calls;  /* every operator delete form */
  uint64_t bootstrap_allocations; /* served before the engine was ready */
  uint64_t failed_allocations;    /* calls that returned null */
};

/* Marks the start of a phase named `name` in the trace (shown on timelines and in reports).
 * Does nothing when not recording. */
void poolscope_mark(const char* name);
typedef void (*poolscope_mark_fn)(const char* name);

/* Writes every buffered event to the trace now (normally done every 250 ms). */
void poolscope_flush(void);
typedef void (*poolscope_flush_fn)(void);

/* Fills *out. Returns 0, or -1 when counting is off (POOLSCOPE_STATS unset) or out is null. */
int poolscope_get_stats(struct poolscope_stats* out);
typedef int (*poolscope_get_stats_fn)(struct poolscope_stats* out);

#ifdef __cplusplus
}
#endif

#endif /* POOLSCOPE_POOLSCOPE_H_ */
