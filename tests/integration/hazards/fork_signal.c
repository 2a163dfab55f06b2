/* fork from a signal handler that interrupts malloc. A single thread mallocs, reallocs and
 * frees blocks of varied sizes in a loop while ITIMER_REAL fires SIGALRM every 50-250 µs;
 * the handler forks (the child _exits at once) and reaps the child with waitpid, until 1000 forks
 * are done. The handler often lands inside malloc or free, so fork's atfork handlers run while
 * the interrupted call may hold the allocator's locks: they must not wait for them (POSIX
 * makes fork async-signal-safe, and glibc skips its own malloc locking in a single-threaded
 * process for that reason). Prints only deterministic counts. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kForks = 1000, kSlots = 64 };

static volatile sig_atomic_t forks_done, children_ok, fork_failures;
static unsigned delay_seed = 1;

/* One-shot timer, re-armed by the handler after each fork with a varying delay of 50 to 250 µs.
 * A periodic timer faster than fork would leave the next signal pending when the handler
 * returns, freezing the main loop at one instruction for every fork. */
static void arm_timer(void) {
  delay_seed = delay_seed * 1103515245u + 12345u;
  struct itimerval next = {{0, 0}, {0, 50 + (long)((delay_seed >> 16) % 200)}};
  setitimer(ITIMER_REAL, &next, NULL);
}

static void on_alarm(int sig) {
  (void)sig;
  int saved_errno = errno;
  if (forks_done < kForks) {
    pid_t pid = fork();
    if (pid == 0) _exit(7);
    if (pid < 0) {
      fork_failures++;
    } else {
      int status;
      pid_t got;
      do {
        got = waitpid(pid, &status, 0);
      } while (got < 0 && errno == EINTR);
      if (got == pid && WIFEXITED(status) && WEXITSTATUS(status) == 7) children_ok++;
      forks_done++;
    }
    if (forks_done < kForks) arm_timer();
  }
  errno = saved_errno;
}

static size_t size_for(unsigned r) {
  switch (r % 8) {
    case 0: return 130000 + r % 200000; /* mmapped by glibc, at first */
    case 1:
    case 2: return 2000 + r % 30000;
    default: return 1 + r % 600;
  }
}

/* A few bytes per block carry its slot number: the first, the last, one per page. */
static void mark(unsigned char* p, size_t n, unsigned i) {
  for (size_t k = 0; k < n; k += 4096) p[k] = (unsigned char)(i + k / 4096);
  p[n - 1] = (unsigned char)i;
}

/* Checks the marks of a block that held `old_len` bytes and now holds `n`. */
static int spot_check(const unsigned char* p, size_t old_len, size_t n, unsigned i) {
  size_t kept = old_len < n ? old_len : n;
  for (size_t k = 0; k < kept; k += 4096) {
    if (k != old_len - 1 && p[k] != (unsigned char)(i + k / 4096)) return 0;
  }
  return kept != old_len || p[old_len - 1] == (unsigned char)i;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction(SIGALRM, &sa, NULL) != 0) return 2;

  unsigned char* slot[kSlots] = {0};
  size_t len[kSlots] = {0};
  unsigned r = 12345;
  long corrupted = 0;

  arm_timer();
  /* Most of the loop's time is spent inside the allocator (calloc clears reused memory,
   * realloc copies), so the signal usually lands there; the contents are spot-checked only. */
  while (forks_done < kForks && fork_failures < 100) {
    r = r * 1103515245u + 12345u;
    unsigned i = (r >> 10) % kSlots;
    if (slot[i] != NULL) {
      corrupted += !spot_check(slot[i], len[i], len[i], i);
      if (r & 0x100) {
        free(slot[i]);
        slot[i] = NULL;
        continue;
      }
      size_t n = size_for(r >> 3);
      unsigned char* p = realloc(slot[i], n);
      if (p == NULL) return 3;
      corrupted += !spot_check(p, len[i], n, i);
      slot[i] = p;
      len[i] = n;
    } else {
      len[i] = size_for(r >> 3);
      slot[i] = (r & 0x600) ? calloc(len[i], 1) : malloc(len[i]);
      if (slot[i] == NULL) return 3;
    }
    mark(slot[i], len[i], i);
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  for (int i = 0; i < kSlots; i++) free(slot[i]);

  printf("forks from the handler: %d, children reaped with status 7: %d, fork failures: %d, "
         "corrupted blocks: %ld\n",
         (int)forks_done, (int)children_ok, (int)fork_failures, corrupted);
  return forks_done == kForks && children_ok == kForks && corrupted == 0 ? 0 : 1;
}
