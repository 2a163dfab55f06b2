// Allocates blocks of SIZE bytes (freeing each 1024 allocations later) until killed: first FAST
// allocations at up to 800,000 a second, then a trickle of 1,000 a second, which fills the
// recorder's buffers far too slowly to be written out for being full: only the periodic
// flush writes those. It appends "MONOTONIC_NS ALLOCATIONS\n" to PROGRESS after every 10,000
// allocations of the fast phase and every 100 of the trickle, with one write(2) each, so the
// line is on disk however the process dies; the first line is "# pid PID" of the allocating
// process. MODE "forked": that process is a fork()ed child (no exec); the parent waits for it.
//
// Usage: sigkill_subject PROGRESS SIZE FAST direct|forked
// The allocating process exits 1 after 60 s if nobody killed it.
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void* volatile ring[1024];

static void pause_until(uint64_t due) {
  uint64_t t = now_ns();
  if (due <= t) return;
  struct timespec pause = {(time_t)((due - t) / 1000000000u), (long)((due - t) % 1000000000u)};
  nanosleep(&pause, NULL);
}

static int allocate_until_killed(int fd, size_t size, uint64_t fast) {
  char line[64];
  int n = snprintf(line, sizeof line, "# pid %d\n", (int)getpid());
  if (write(fd, line, (size_t)n) != n) return 4;
  uint64_t start = now_ns(), trickle_start = 0;
  for (uint64_t count = 1;; ++count) {
    size_t slot = count % 1024;
    free(ring[slot]);
    ring[slot] = malloc(size);
    if (ring[slot] == NULL) return 3;
    if (count % (count <= fast ? 10000 : 100) == 0) {
      uint64_t t = now_ns();
      n = snprintf(line, sizeof line, "%llu %llu\n", (unsigned long long)t, (unsigned long long)count);
      if (write(fd, line, (size_t)n) != n) return 4;
      if (t - start > 60000000000ull) return 1;
    }
    if (count < fast) {
      if (count % 10000 == 0) pause_until(start + (uint64_t)(count / 800000.0 * 1e9));
    } else {
      if (trickle_start == 0) trickle_start = now_ns();
      pause_until(trickle_start + (count - fast) * 1000000u);
    }
  }
}

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  if (fd < 0) return 2;
  size_t size = strtoull(argv[2], NULL, 10);
  uint64_t fast = strtoull(argv[3], NULL, 10);
  if (strcmp(argv[4], "forked") != 0) return allocate_until_killed(fd, size, fast);
  pid_t child = fork();
  if (child < 0) return 2;
  if (child == 0) _exit(allocate_until_killed(fd, size, fast));
  int status;
  waitpid(child, &status, 0);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
