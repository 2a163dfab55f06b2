// A program that takes over every file descriptor: after some allocations (blocks of 7001
// bytes) it closes every fd it may have (0 up to its RLIMIT_NOFILE, at most 65536), including
// any the preload library holds, opens DIR/out0..out3 (fds 0..3) and dup2s them over every fd
// from 4 to 1023 (fd K becomes file K % 4). It allocates again (7002 bytes), writes the line
// "fd K\n" to every fd K from 0 to 1023, allocates again (7003 bytes), and exits 0. Each phase
// asks the library, if present, to flush the trace (poolscope_flush, looked up with dlsym).
//
// So out J must hold exactly "fd K\n" for each K = J, J+4, ... in order: any other byte came
// from someone else writing to a descriptor the program owns.
//
// Between opening its files and the dup2s it waits 0.6 s, over two rounds of the library's
// flusher thread, and checks that no descriptor names the trace ($POOLSCOPE_OUTPUT): the
// flusher must not reopen a file whose descriptor the program took, since a descriptor it
// opens is briefly a low one that the program's dup2s may be aiming at.
//
// Usage: fd_hygiene DIR   (exit 0; 10 + phase when something fails: nothing else to report on)
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

typedef void (*flush_fn)(void);
static flush_fn flush;

static void churn(size_t size, int count) {
  static void* volatile ring[64];
  for (int i = 0; i < count; ++i) {
    free(ring[i % 64]);
    ring[i % 64] = malloc(size);
    if (ring[i % 64] == NULL) _exit(19);
  }
  for (int i = 0; i < 64; ++i) {
    free(ring[i]);
    ring[i] = NULL;
  }
  if (flush) flush();
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  char path[4][4096];
  for (int j = 0; j < 4; ++j) snprintf(path[j], sizeof path[j], "%s/out%d", argv[1], j);
  flush = (flush_fn)dlsym(RTLD_DEFAULT, "poolscope_flush");

  churn(7001, 1000);

  struct rlimit limit;
  int top = 65536;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < (rlim_t)top) top = (int)limit.rlim_cur;
  for (int fd = 0; fd < top; ++fd) close(fd);
  for (int j = 0; j < 4; ++j) {
    if (open(path[j], O_WRONLY | O_CREAT | O_TRUNC, 0644) != j) _exit(11);
  }
  const char* trace = getenv("POOLSCOPE_OUTPUT");
  usleep(600000);
  for (int fd = 4; trace != NULL && fd < top; ++fd) {
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n > 0) {
      target[n] = '\0';
      if (strcmp(target, trace) == 0) _exit(14);
    }
  }
  for (int fd = 4; fd < 1024; ++fd) {
    if (dup2(fd % 4, fd) != fd) _exit(12);
  }

  churn(7002, 50000);

  for (int fd = 0; fd < 1024; ++fd) {
    char line[32];
    int n = snprintf(line, sizeof line, "fd %d\n", fd);
    if (write(fd, line, (size_t)n) != n) _exit(13);
  }

  churn(7003, 50000);
  return 0;
}
