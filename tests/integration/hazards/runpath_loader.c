/* A library whose DT_RUNPATH is $ORIGIN, loading its sibling plugin by bare name. glibc picks
 * the RUNPATH of dlopen's caller from the return address, so this works through the library's
 * dlopen wrapper only if the wrapper reaches glibc with a jump (src/interpose/dlopen.cc). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

static int answer_of(void* handle) {
  if (handle == NULL) return -1;
  int (*answer)(void) = (int (*)(void))dlsym(handle, "runpath_plugin_answer");
  return answer != NULL ? answer() : -2;
}

int runpath_loader_dlopen_plugin(void) {
  return answer_of(dlopen("libhazard_runpath_plugin.so", RTLD_NOW));
}

int runpath_loader_dlopen_plugin_deepbind(void) {
  return answer_of(dlopen("libhazard_runpath_plugin.so", RTLD_NOW | RTLD_DEEPBIND));
}

int runpath_loader_dlmopen_plugin(void) {
  return answer_of(dlmopen(LM_ID_BASE, "libhazard_runpath_plugin.so", RTLD_NOW));
}
