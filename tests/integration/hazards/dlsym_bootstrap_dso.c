/* Preloaded next to libpoolscope.so (its constructor runs before the library's), this
 * library's constructor drives the dynamic loader's own allocations: a failing dlsym makes
 * glibc malloc the error message and the per-thread dlerror state, dlerror() hands the message
 * over and frees the previous one, a failing dlopen allocates more, and strdup and a
 * successful dlsym(RTLD_NEXT) run in between. None of it may hang (the loader's lock is held
 * while it allocates) or crash. The results are kept for dlsym_bootstrap_main to print. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char report[2048];
static void* volatile pending_lookup;

static void note(const char* fmt, const char* a, int b) {
  size_t len = strlen(report);
  snprintf(report + len, sizeof report - len, fmt, a, b);
}

__attribute__((constructor)) static void use_the_loader_early(void) {
  for (int round = 0; round < 3; round++) {
    void* sym = dlsym(RTLD_DEFAULT, "no_such_symbol_poolscope");
    char* err = dlerror();
    char* copy = err ? strdup(err) : NULL;
    if (round == 0) {
      note("ctor: dlsym(missing) null=%s dlerror-mentions-symbol=%d\n", sym ? "0" : "1",
           copy != NULL && strstr(copy, "no_such_symbol_poolscope") != NULL);
    }
    free(copy);
    /* A second dlerror() with no new error returns null. */
    err = dlerror();
    if (round == 0) note("ctor: dlerror() again%s null=%d\n", "", err == NULL);

    void* h = dlopen("libpoolscope_no_such_library.so", RTLD_NOW);
    err = dlerror();
    if (round == 0) {
      note("ctor: dlopen(missing) null=%s dlerror-mentions-file=%d\n", h ? "0" : "1",
           err != NULL && strstr(err, "libpoolscope_no_such_library.so") != NULL);
    }
    void* next_malloc = dlsym(RTLD_NEXT, "malloc");
    if (round == 0) note("ctor: dlsym(RTLD_NEXT, malloc) found%s=%d\n", "", next_malloc != NULL);
    void* v = dlvsym(RTLD_DEFAULT, "no_such_symbol_poolscope", "GLIBC_2.2.5");
    err = dlerror();
    if (round == 0) note("ctor: dlvsym(missing) null=%s dlerror-set=%d\n", v ? "0" : "1", err != NULL);
  }
  /* Leave an error pending: the program's first dlerror() must still see it. Not as a tail
   * call: glibc would then take ld.so's call_init for the caller, and crashes resolving
   * RTLD_DEFAULT from there. */
  pending_lookup = dlsym(RTLD_DEFAULT, "still_no_such_symbol_poolscope");
}

const char* hazard_dlsym_report(void) { return report; }
