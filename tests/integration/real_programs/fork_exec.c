/* A fork/exec chain for fork_exec.sh. Each process, at depth 0..MAX, runs 3 threads that
 * allocate and free continuously, and meanwhile:
 *   - forks and execs /bin/true,
 *   - posix_spawns /bin/true (no atfork handlers run on that path),
 *   - forks a child that allocates without exec'ing and reports a checksum,
 *   - forks and execs itself at depth+1 (unless at MAX) and waits for it.
 * With MAX = 16 that is 50 execs in all. Every line printed depends only on the depth, so the
 * output is the same on every run; each process waits for its children before printing again.
 * Exit status 0 only if every child succeeded all the way down. */
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

enum { kThreads = 3, kCountedRounds = 2000 };

struct worker {
  pthread_t thread;
  int index;
  int depth;
  uint64_t checksum;  /* over the first kCountedRounds rounds only */
  uint64_t rounds;
};

static atomic_int stop_workers;

static uint64_t mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ull;
  x ^= x >> 27;
  x *= 0x81dadef4bc2dd44dull;
  return x ^ (x >> 33);
}

/* One round: a burst of malloc/calloc/realloc/posix_memalign blocks, filled, summed, freed. */
static uint64_t round_of_allocations(uint64_t seed) {
  enum { kBlocks = 24 };
  unsigned char* blocks[kBlocks];
  size_t sizes[kBlocks];
  uint64_t sum = 0;
  for (int i = 0; i < kBlocks; ++i) {
    uint64_t r = mix(seed + (uint64_t)i);
    sizes[i] = 1 + r % (i % 6 == 5 ? 70000 : 600);
    void* p = NULL;
    switch (r % 4) {
      case 0: p = malloc(sizes[i]); break;
      case 1: p = calloc(1, sizes[i]); break;
      case 2: p = realloc(NULL, sizes[i]); break;
      case 3: if (posix_memalign(&p, 64, sizes[i]) != 0) p = NULL; break;
    }
    if (p == NULL) abort();
    blocks[i] = p;
    memset(blocks[i], (int)(r & 0xff), sizes[i]);
  }
  for (int i = 0; i < kBlocks; i += 3) {  /* grow some in place or by moving */
    size_t bigger = sizes[i] * 2 + 16;
    unsigned char* q = realloc(blocks[i], bigger);
    if (q == NULL) abort();
    memset(q + sizes[i], 0x5a, bigger - sizes[i]);
    blocks[i] = q;
    sizes[i] = bigger;
  }
  for (int i = 0; i < kBlocks; ++i) {
    sum = sum * 1000003 + sizes[i] + blocks[i][0] + blocks[i][sizes[i] - 1];
    free(blocks[i]);
  }
  return sum;
}

static void* worker_main(void* arg) {
  struct worker* w = arg;
  uint64_t seed = ((uint64_t)w->depth << 32) | ((uint64_t)w->index << 24);
  while (w->rounds < kCountedRounds || !atomic_load(&stop_workers)) {
    uint64_t s = round_of_allocations(seed + w->rounds);
    if (w->rounds < kCountedRounds) w->checksum += mix(s);
    w->rounds++;
  }
  return NULL;
}

static int wait_status(pid_t pid, const char* what, int depth) {
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    perror("waitpid");
    return -1;
  }
  if (!WIFEXITED(status)) {
    printf("depth %d: %s killed by signal %d\n", depth, what, WTERMSIG(status));
    return -1;
  }
  return WEXITSTATUS(status);
}

int main(int argc, char** argv) {
  int depth = argc > 1 ? atoi(argv[1]) : 0;
  int max = argc > 2 ? atoi(argv[2]) : 16;
  int failures = 0;

  printf("depth %d: start\n", depth);
  fflush(stdout); /* nothing buffered may be duplicated into a child */

  struct worker workers[kThreads];
  atomic_store(&stop_workers, 0);
  for (int i = 0; i < kThreads; ++i) {
    workers[i] = (struct worker){.index = i, .depth = depth};
    if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) abort();
  }

  /* fork + exec /bin/true while the workers allocate */
  pid_t pid = fork();
  if (pid < 0) abort();
  if (pid == 0) {
    char* args[] = {"true", NULL};
    execve("/bin/true", args, environ);
    _exit(126);
  }
  int true_status = wait_status(pid, "/bin/true", depth);
  failures += true_status != 0;

  /* posix_spawn /bin/true */
  char* spawn_args[] = {"true", NULL};
  int spawn_status = -1;
  if (posix_spawn(&pid, "/bin/true", NULL, NULL, spawn_args, environ) == 0) {
    spawn_status = wait_status(pid, "posix_spawn /bin/true", depth);
  }
  failures += spawn_status != 0;

  /* fork without exec: the child allocates in a copy of a heap other threads were using */
  pid = fork();
  if (pid < 0) abort();
  if (pid == 0) {
    uint64_t sum = 0;
    for (int r = 0; r < 200; ++r) sum += mix(round_of_allocations(0xc0ffee00u + (uint64_t)r * 977));
    char* text = malloc(64);
    snprintf(text, 64, "%016llx", (unsigned long long)sum);
    printf("depth %d: forked child checksum %s\n", depth, text);
    free(text);
    fflush(stdout);
    _exit(0);
  }
  int fork_status = wait_status(pid, "forked child", depth);
  failures += fork_status != 0;

  /* fork + exec ourselves one level deeper */
  int exec_status = 0;
  if (depth < max) {
    pid = fork();
    if (pid < 0) abort();
    if (pid == 0) {
      char next[16], limit[16];
      snprintf(next, sizeof next, "%d", depth + 1);
      snprintf(limit, sizeof limit, "%d", max);
      char* args[] = {argv[0], next, limit, NULL};
      execve("/proc/self/exe", args, environ);
      _exit(126);
    }
  }
  /* Stop the workers before waiting, so that only the deepest process keeps its threads busy. */
  atomic_store(&stop_workers, 1);
  uint64_t checksum = 0, rounds_ok = 1;
  for (int i = 0; i < kThreads; ++i) {
    pthread_join(workers[i].thread, NULL);
    checksum += workers[i].checksum;
    rounds_ok &= workers[i].rounds >= kCountedRounds;
  }
  if (depth < max) {
    exec_status = wait_status(pid, "exec of self", depth);
    failures += exec_status != 0;
  }
  printf("depth %d: true %d spawn %d fork %d exec %d workers %s checksum %016llx\n", depth,
         true_status, spawn_status, fork_status, exec_status, rounds_ok ? "ok" : "short",
         (unsigned long long)checksum);
  return failures == 0 ? 0 : 1;
}
