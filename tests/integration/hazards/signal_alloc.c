/* malloc and free from a SIGALRM handler firing every 100 µs while the main thread mallocs,
 * callocs and frees. 5000 handler calls; every block's contents are checked before it is
 * freed, in the handler and in the main loop, so two callers handed the same memory show up.
 *
 * glibc itself is not async-signal-safe: a handler allocating from the size class the
 * interrupted call is working on can corrupt its heap. What real programs (profilers,
 * crash handlers) get away with, and what this test therefore holds every engine to, is a
 * handler using size classes the interrupted code does not: the handler's blocks (24 and 40
 * bytes, glibc's 32- and 48-byte chunks) are kept warm in the thread cache before the timer
 * starts, and the main loop uses only requests of 57 bytes and more (and no realloc, whose
 * split-off remainder glibc may cache in any size class). Some of the main loop's blocks are
 * above 256 KiB, so the interrupted call is regularly inside the engine's large-block path,
 * holding its lock. The interposition layer and the engine's shared state (lazy
 * initialisation, statistics, locks, page bookkeeping) must tolerate being re-entered at any
 * instruction: no deadlock (the script's timeout), no memory handed out twice. Prints only
 * deterministic counts. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <errno.h>

enum { kHandlerCalls = 5000, kSlots = 128 };

static volatile sig_atomic_t handler_calls, handler_errors;

static void on_alarm(int sig) {
  (void)sig;
  int saved_errno = errno;
  if (handler_calls < kHandlerCalls) {
    unsigned char* a = malloc(24);
    unsigned char* b = malloc(40);
    /* A null is tolerated (an engine may refuse a nested request it cannot serve safely, e.g.
     * while the interrupted call holds a lock); memory it does return must be sound. */
    if (a != NULL) {
      memset(a, 0xa1, 24);
      for (int k = 0; k < 24; k++) handler_errors += a[k] != 0xa1;
    }
    if (b != NULL) {
      memset(b, 0xb2, 40);
      for (int k = 0; k < 40; k++) handler_errors += b[k] != 0xb2;
    }
    free(b);
    free(a);
    handler_calls++;
  }
  errno = saved_errno;
}

static size_t size_for(unsigned r) {
  switch (r % 8) {
    case 0: /* mmapped by glibc; the larger ones are the pool engine's large blocks */
      return (r & 8) ? 300000 + r % 300000 : 140000 + r % 100000;
    case 1: return 1100 + r % 20000;    /* above glibc's thread cache */
    default: return 57 + r % 900;
  }
}

int main(void) {
  /* Warm the handler's size classes: one cached block each, so the handler never needs the
   * slow path the main loop may be in. */
  free(malloc(24));
  free(malloc(40));

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction(SIGALRM, &sa, NULL) != 0) return 2;

  unsigned char* slot[kSlots] = {0};
  size_t len[kSlots] = {0};
  unsigned char seed[kSlots] = {0};
  unsigned r = 777;
  long corrupted = 0, operations = 0;

  struct itimerval every = {{0, 100}, {0, 100}};
  if (setitimer(ITIMER_REAL, &every, NULL) != 0) return 2;
  while (handler_calls < kHandlerCalls) {
    r = r * 1103515245u + 12345u;
    unsigned i = (r >> 9) % kSlots;
    operations++;
    if (slot[i] != NULL) {
      for (size_t k = 0; k < len[i]; k += 7) corrupted += slot[i][k] != (unsigned char)(seed[i] + k);
      free(slot[i]);
      slot[i] = NULL;
      continue;
    } else {
      len[i] = size_for(r >> 3);
      slot[i] = (r & 0x80) ? calloc(1, len[i]) : malloc(len[i]);
      if (slot[i] == NULL) return 3;
    }
    seed[i] = (unsigned char)r;
    for (size_t k = 0; k < len[i]; k += 7) slot[i][k] = (unsigned char)(seed[i] + k);
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  for (int i = 0; i < kSlots; i++) {
    if (slot[i] == NULL) continue;
    for (size_t k = 0; k < len[i]; k += 7) corrupted += slot[i][k] != (unsigned char)(seed[i] + k);
    free(slot[i]);
  }
  printf("handler calls: %d, handler errors: %d, corrupted bytes in the main loop: %ld, "
         "main loop ran: %d\n",
         (int)handler_calls, (int)handler_errors, corrupted, operations > kHandlerCalls);
  return handler_errors == 0 && corrupted == 0 ? 0 : 1;
}
