// The benchmark runner: runs one command and reports how long it took and how much memory it
// held at its peak, the same way for every workload and allocator.
//
//   measure [-e NAME=VALUE]... [-u NAME]... [-t SECONDS] [-o FILE] [-q] -- COMMAND [ARG]...
//
// -e sets and -u removes a variable in the command's environment only (so LD_PRELOAD never
// applies to the runner itself); -t kills the command's process group after SECONDS; -o
// writes the result line to FILE instead of stderr; -q sends the command's stdout to
// /dev/null. The command runs in a process group of its own, its stdout and stderr are the
// runner's.
//
// Result line (key=value, space separated):
//   status=ok|exit:N|signal:N|timeout  wall_s=  user_s=  sys_s=  maxrss_kb=
// wall_s is CLOCK_MONOTONIC from just before fork to wait4's return; user_s, sys_s and
// maxrss_kb come from wait4's rusage, so they include the command's children that it waited
// for (gcc's cc1 and as), and maxrss is the largest of them.
// Exit status: 0 when the command ran (whatever it returned), 2 on a usage error, 127 if it
// could not be started.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENV_OPS 64

static void usage(void) {
  fprintf(stderr,
          "usage: measure [-e NAME=VALUE]... [-u NAME]... [-t SECONDS] [-o FILE] [-q] -- "
          "COMMAND [ARG]...\n");
  exit(2);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile sig_atomic_t timed_out = 0;
static pid_t child_pid = 0;

static void on_alarm(int sig) {
  (void)sig;
  timed_out = 1;
  if (child_pid > 0) kill(-child_pid, SIGKILL);
}

// The command's process group is not the terminal's: pass an interrupt on, then die of it.
static void on_interrupt(int sig) {
  if (child_pid > 0) kill(-child_pid, SIGKILL);
  signal(sig, SIG_DFL);
  raise(sig);
}

int main(int argc, char** argv) {
  const char* sets[MAX_ENV_OPS];
  const char* unsets[MAX_ENV_OPS];
  int nsets = 0, nunsets = 0;
  unsigned timeout = 0;
  const char* out_path = NULL;
  int quiet = 0;
  int opt;
  while ((opt = getopt(argc, argv, "+e:u:t:o:q")) != -1) {
    switch (opt) {
      case 'e':
        if (nsets == MAX_ENV_OPS || strchr(optarg, '=') == NULL) usage();
        sets[nsets++] = optarg;
        break;
      case 'u':
        if (nunsets == MAX_ENV_OPS) usage();
        unsets[nunsets++] = optarg;
        break;
      case 't': {
        char* end;
        unsigned long v = strtoul(optarg, &end, 10);
        if (*end != '\0' || v == 0 || v > 86400) usage();
        timeout = (unsigned)v;
        break;
      }
      case 'o': out_path = optarg; break;
      case 'q': quiet = 1; break;
      default: usage();
    }
  }
  if (optind >= argc) usage();
  char** cmd = argv + optind;

  // Report to the output file, opened before the run so a bad path fails early.
  FILE* out = stderr;
  if (out_path != NULL) {
    out = fopen(out_path, "w");
    if (out == NULL) {
      fprintf(stderr, "measure: cannot open %s: %s\n", out_path, strerror(errno));
      return 2;
    }
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  sa.sa_handler = on_interrupt;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);

  int exec_err[2];
  if (pipe2(exec_err, O_CLOEXEC) != 0) return 127;

  double start = now();
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "measure: fork: %s\n", strerror(errno));
    return 127;
  }
  if (pid == 0) {
    setpgid(0, 0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGALRM, SIG_DFL);
    for (int i = 0; i < nunsets; i++) unsetenv(unsets[i]);
    for (int i = 0; i < nsets; i++) {
      char* eq = strchr(sets[i], '=');
      size_t len = (size_t)(eq - sets[i]);
      char name[256];
      if (len >= sizeof name) _exit(127);
      memcpy(name, sets[i], len);
      name[len] = '\0';
      setenv(name, eq + 1, 1);
    }
    if (quiet) {
      int devnull = open("/dev/null", O_WRONLY);
      if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
    }
    execvp(cmd[0], cmd);
    int err = errno;
    ssize_t w = write(exec_err[1], &err, sizeof err);
    (void)w;
    _exit(127);
  }
  child_pid = pid;
  setpgid(pid, pid);  // both sides, so the group exists before any kill
  close(exec_err[1]);
  if (timeout > 0) alarm(timeout);

  int status = 0;
  struct rusage ru;
  pid_t got;
  do {
    got = wait4(pid, &status, 0, &ru);
  } while (got < 0 && errno == EINTR);
  double wall = now() - start;
  alarm(0);
  if (got < 0) {
    fprintf(stderr, "measure: wait4: %s\n", strerror(errno));
    return 127;
  }

  int err = 0;
  if (read(exec_err[0], &err, sizeof err) == (ssize_t)sizeof err) {
    fprintf(stderr, "measure: cannot run %s: %s\n", cmd[0], strerror(err));
    return 127;
  }

  char what[64];
  if (timed_out) {
    snprintf(what, sizeof what, "timeout");
  } else if (WIFEXITED(status)) {
    if (WEXITSTATUS(status) == 0) {
      snprintf(what, sizeof what, "ok");
    } else {
      snprintf(what, sizeof what, "exit:%d", WEXITSTATUS(status));
    }
  } else if (WIFSIGNALED(status)) {
    snprintf(what, sizeof what, "signal:%d", WTERMSIG(status));
  } else {
    snprintf(what, sizeof what, "unknown");
  }
  fprintf(out, "status=%s wall_s=%.4f user_s=%.4f sys_s=%.4f maxrss_kb=%ld\n", what, wall,
          (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6,
          (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6, ru.ru_maxrss);
  if (out != stderr) fclose(out);
  return 0;
}
