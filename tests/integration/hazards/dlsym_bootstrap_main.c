/* Prints what dlsym_bootstrap_dso.so's constructor saw, then exercises the same dlerror paths
 * from main, after every constructor has run. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef const char* (*report_fn)(void);

int main(void) {
  /* The error the constructor left pending. dlsym below would replace it, so read it first. */
  char* pending = dlerror();
  printf("main: pending error from the constructor mentions it=%d\n",
         pending != NULL && strstr(pending, "still_no_such_symbol_poolscope") != NULL);
  report_fn report = (report_fn)dlsym(RTLD_DEFAULT, "hazard_dlsym_report");
  if (report == NULL) {
    puts("dlsym_bootstrap_dso.so is not preloaded");
    return 2;
  }
  fputs(report(), stdout);
  int mentions = 0;
  for (int i = 0; i < 1000; i++) {
    char name[64];
    snprintf(name, sizeof name, "missing_symbol_%d", i);
    if (dlsym(RTLD_DEFAULT, name) != NULL) return 3;
    char* err = dlerror();
    mentions += err != NULL && strstr(err, name) != NULL;
  }
  printf("main: 1000 failed dlsym calls reported by dlerror=%d\n", mentions);
  return 0;
}
