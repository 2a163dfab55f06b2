/* deepbind_main DEEPBIND_DSO DEEPBIND_DSO_COPY RUNPATH_LOADER [where]
 *
 * Opens DEEPBIND_DSO with dlopen(RTLD_NOW | RTLD_DEEPBIND) and DEEPBIND_DSO_COPY with
 * dlmopen(LM_ID_BASE, ..., RTLD_NOW | RTLD_DEEPBIND), checks that their malloc family is the
 * one the program sees (dlsym(RTLD_DEFAULT, ...)), and passes memory across in both
 * directions. Then opens RUNPATH_LOADER, which dlopens a sibling plugin by bare name through
 * its own DT_RUNPATH. With "where", prints instead the file the DSO's malloc lives in. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void* (*address_fn)(void);
typedef void* (*malloc_fn)(size_t);
typedef void* (*calloc_fn)(size_t, size_t);
typedef void* (*realloc_fn)(void*, size_t);
typedef void (*free_fn)(void*);
typedef char* (*strdup_fn)(const char*);

static void* need(void* handle, const char* name) {
  void* sym = dlsym(handle, name);
  if (sym == NULL) {
    printf("missing %s: %s\n", name, dlerror());
    exit(2);
  }
  return sym;
}

static void fill(unsigned char* p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seed ^ (i * 29u));
}
static int holds(const unsigned char* p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] != (unsigned char)(seed ^ (i * 29u))) return 0;
  }
  return 1;
}

static void check_deepbind(const char* how, void* h) {
  static const char* const names[] = {"malloc", "free", "realloc", "calloc"};
  for (int i = 0; i < 4; i++) {
    char getter[64];
    snprintf(getter, sizeof getter, "deepbind_%s_address", names[i]);
    void* seen = ((address_fn)need(h, getter))();
    printf("%s: the DSO's %s is the program's: %d\n", how, names[i],
           seen == dlsym(RTLD_DEFAULT, names[i]));
  }
  malloc_fn dso_malloc = (malloc_fn)need(h, "deepbind_malloc");
  calloc_fn dso_calloc = (calloc_fn)need(h, "deepbind_calloc");
  realloc_fn dso_realloc = (realloc_fn)need(h, "deepbind_realloc");
  free_fn dso_free = (free_fn)need(h, "deepbind_free");
  strdup_fn dso_strdup = (strdup_fn)need(h, "deepbind_strdup");

  int ok = 0, rounds = 2000;
  for (int i = 0; i < rounds; i++) {
    size_t n = (size_t)(i * 7919 % 3000) + 1;
    if (i % 100 == 0) n = 200000 + (size_t)i; /* mmapped in glibc */
    unsigned char* a = dso_malloc(n);          /* DSO allocates, program frees */
    unsigned char* b = malloc(n);              /* program allocates, DSO frees */
    fill(a, n, (unsigned)i);
    fill(b, n, (unsigned)i + 1);
    unsigned char* c = dso_realloc(b, n * 2); /* DSO grows the program's block */
    unsigned char* d = realloc(a, n + 17);    /* program grows the DSO's block */
    int good = holds(c, n, (unsigned)i + 1) && holds(d, n, (unsigned)i);
    unsigned char* z = dso_calloc(n, 1);
    for (size_t k = 0; k < n; k++) good &= z[k] == 0;
    free(z);
    dso_free(d);
    free(c);
    char* s = dso_strdup("crossing heaps");
    good &= strcmp(s, "crossing heaps") == 0;
    free(s);
    ok += good;
  }
  printf("%s: blocks passed between the DSO and the program intact: %d/%d\n", how, ok, rounds);
}

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  void* h = dlopen(argv[1], RTLD_NOW | RTLD_DEEPBIND);
  if (h == NULL) {
    printf("dlopen(RTLD_DEEPBIND) failed: %s\n", dlerror());
    return 2;
  }
  if (argc > 4 && strcmp(argv[4], "where") == 0) {
    Dl_info info;
    void* seen = ((address_fn)need(h, "deepbind_malloc_address"))();
    if (dladdr(seen, &info) == 0 || info.dli_fname == NULL) return 3;
    printf("%s\n", basename((char*)info.dli_fname));
    return 0;
  }
  check_deepbind("dlopen", h);

  void* h2 = dlmopen(LM_ID_BASE, argv[2], RTLD_NOW | RTLD_DEEPBIND);
  if (h2 == NULL) {
    printf("dlmopen(RTLD_DEEPBIND) failed: %s\n", dlerror());
    return 2;
  }
  check_deepbind("dlmopen", h2);
  dlclose(h2);
  dlclose(h);

  /* The plugin is reachable only through the loader's RUNPATH: not from here by bare name. */
  void* direct = dlopen("libhazard_runpath_plugin.so", RTLD_NOW);
  printf("plugin found by bare name from the program: %d\n", direct != NULL);
  void* loader = dlopen(argv[3], RTLD_NOW);
  if (loader == NULL) {
    printf("cannot open the loader: %s\n", dlerror());
    return 2;
  }
  printf("loader's dlopen(bare name) via its RUNPATH: %d\n",
         ((int (*)(void))need(loader, "runpath_loader_dlopen_plugin"))());
  printf("loader's dlopen(bare name, RTLD_DEEPBIND) via its RUNPATH: %d\n",
         ((int (*)(void))need(loader, "runpath_loader_dlopen_plugin_deepbind"))());
  printf("loader's dlmopen(LM_ID_BASE, bare name) via its RUNPATH: %d\n",
         ((int (*)(void))need(loader, "runpath_loader_dlmopen_plugin"))());
  return 0;
}
