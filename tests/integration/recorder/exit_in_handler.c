// Calls _exit from a signal handler that interrupts a malloc/free loop (so, often, the
// recorder): _exit is async-signal-safe, and must stay so under the library.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/time.h>
static void on_alarm(int s) { (void)s; _exit(7); }
int main(void) {
  signal(SIGALRM, on_alarm);
  struct itimerval it = {{0, 0}, {0, 20000}}; setitimer(ITIMER_REAL, &it, 0);
  for (;;) { void* volatile p = malloc(100); free(p); }
}
