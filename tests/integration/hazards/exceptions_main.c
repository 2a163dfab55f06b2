/* A C program (built with -fexceptions, not linked with libstdc++) that dlopens a C++ library
 * and drives exceptions inside it: thrown and caught within the library, thrown from many
 * threads, and thrown through one of this program's C frames (a callback) to a C++ catch in
 * the library. A cleanup attribute in the C frame must run during that unwinding. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

typedef int (*c_callback)(int (*thrower)(int), int value);

static int c_frames_unwound;
static int c_frames_returned;

static void note_unwound(char** buffer) {
  /* Runs on normal return and during unwinding alike (-fexceptions). */
  free(*buffer);
  c_frames_unwound++;
}

/* The C frame the exception crosses: it allocates, then calls back into C++. */
static int c_callback_frame(int (*thrower)(int), int value) {
  __attribute__((cleanup(note_unwound))) char* buffer = malloc(64 + (size_t)value);
  snprintf(buffer, 64, "C frame %d", value);
  int r = thrower(value);
  c_frames_returned++;
  return r + 1;
}

static void* need(void* handle, const char* name) {
  void* sym = dlsym(handle, name);
  if (sym == NULL) {
    printf("missing %s\n", name);
    exit(2);
  }
  return sym;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    printf("dlopen failed: %s\n", dlerror());
    return 2;
  }
  int (*throw_and_catch)(int) = (int (*)(int))need(lib, "exc_throw_and_catch");
  int (*nothrow_new_fails)(void) = (int (*)(void))need(lib, "exc_nothrow_new_fails");
  int (*throw_in_threads)(int, int) = (int (*)(int, int))need(lib, "exc_throw_in_threads");
  int (*through_c)(c_callback, int) = (int (*)(c_callback, int))need(lib, "exc_through_c");
  void (*new_handler_loop)(char*, size_t) = (void (*)(char*, size_t))need(lib, "exc_new_handler_loop");

  printf("caught inside the library: %d/1000\n", throw_and_catch(1000));
  printf("nothrow new of SIZE_MAX/2 returns null: %d\n", nothrow_new_fails());
  printf("caught in 4 threads: %d/2000\n", throw_in_threads(4, 500));
  char lines[1024];
  new_handler_loop(lines, sizeof(lines));
  fputs(lines, stdout);

  int codes[4] = {0};
  for (int value = 0; value < 300; value++) {
    int r = through_c(c_callback_frame, value);
    if (r == 1) codes[0]++;
    else if (r == 2) codes[1]++;
    else if (r == 1000 + value * 2 + 1) codes[2]++;
    else codes[3]++;
  }
  printf("through the C frame: Failure caught %d, out_of_range caught %d, returned %d, wrong %d\n",
         codes[0], codes[1], codes[2], codes[3]);
  printf("C frames: cleanups run %d, returned normally %d\n", c_frames_unwound, c_frames_returned);
  dlclose(lib);
  return codes[3] == 0 ? 0 : 1;
}
