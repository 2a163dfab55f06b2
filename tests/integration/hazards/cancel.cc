// pthread_cancel of threads blocked in cancellation points. Each victim allocates, pushes a
// cleanup handler (which frees and allocates), holds a C++ object whose destructor frees its
// heap members, then blocks in read() on a pipe nobody writes, in nanosleep(), or in
// pthread_cond_wait(). Cancellation unwinds it with glibc's forced unwind (libgcc_s is
// dlopened on the first cancel, which allocates); both the handler and the destructor must run,
// in that order (the handler was pushed last), and join must report PTHREAD_CANCELED.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

namespace {

constexpr int kRounds = 20;
constexpr int kKinds = 3;  // read, nanosleep, pthread_cond_wait

std::atomic<int> cleanups{0};
std::atomic<int> destructors{0};
std::atomic<int> order_errors{0};
std::atomic<int> blocked{0};
int pipe_fds[2];
pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

struct Victim {
  int kind;
  std::atomic<bool> cleaned{false};
};

struct Holder {
  Victim* victim;
  std::vector<std::string> strings;
  char* raw;
  explicit Holder(Victim* v) : victim(v), raw(static_cast<char*>(malloc(4000))) {
    for (int i = 0; i < 20; ++i) strings.push_back(std::string(100 + i, 'h'));
    memset(raw, 1, 4000);
  }
  ~Holder() {
    // The cleanup handler was pushed after this object was built, so it ran first.
    if (!victim->cleaned.load()) order_errors.fetch_add(1);
    std::string joined;
    for (const std::string& s : strings) joined += s;
    if (joined.size() != 20 * 100 + 190 || raw[3999] != 1) order_errors.fetch_add(1);
    free(raw);
    destructors.fetch_add(1);
  }
};

void Cleanup(void* arg) {
  auto* victim = static_cast<Victim*>(arg);
  char* p = static_cast<char*>(malloc(300));
  p = static_cast<char*>(realloc(p, 30000));
  p[29999] = 1;
  free(p);
  victim->cleaned.store(true);
  cleanups.fetch_add(1);
}

void UnlockMutex(void*) { pthread_mutex_unlock(&mutex); }

void* VictimMain(void* arg) {
  auto* victim = static_cast<Victim*>(arg);
  Holder holder(victim);
  pthread_cleanup_push(Cleanup, victim);
  char* scratch = static_cast<char*>(calloc(1, 512));
  free(scratch);
  switch (victim->kind) {
    case 0: {
      blocked.fetch_add(1);
      char c;
      while (read(pipe_fds[0], &c, 1) != 0) {
      }
      break;
    }
    case 1: {
      blocked.fetch_add(1);
      struct timespec forever = {3600, 0};
      while (true) nanosleep(&forever, nullptr);
      break;
    }
    default: {
      pthread_mutex_lock(&mutex);
      pthread_cleanup_push(UnlockMutex, nullptr);
      blocked.fetch_add(1);
      while (true) pthread_cond_wait(&cond, &mutex);
      pthread_cleanup_pop(1);
      break;
    }
  }
  pthread_cleanup_pop(0);
  return nullptr;
}

}  // namespace

int main() {
  if (pipe(pipe_fds) != 0) return 2;
  int canceled = 0;
  for (int round = 0; round < kRounds; ++round) {
    Victim victims[kKinds];
    pthread_t threads[kKinds];
    blocked.store(0);
    for (int k = 0; k < kKinds; ++k) {
      victims[k].kind = k;
      if (pthread_create(&threads[k], nullptr, VictimMain, &victims[k]) != 0) return 2;
    }
    // Cancel once every victim is about to block (or blocked): either way it is cancelled at
    // its cancellation point.
    while (blocked.load() < kKinds) usleep(100);
    usleep(round % 2 == 0 ? 1000 : 0);
    for (int k = 0; k < kKinds; ++k) pthread_cancel(threads[k]);
    for (int k = 0; k < kKinds; ++k) {
      void* result = nullptr;
      pthread_join(threads[k], &result);
      canceled += result == PTHREAD_CANCELED;
    }
  }
  printf("threads cancelled: %d/%d, cleanup handlers run: %d, destructors run: %d, "
         "order or content errors: %d\n",
         canceled, kRounds * kKinds, cleanups.load(), destructors.load(), order_errors.load());
  return canceled == kRounds * kKinds && order_errors.load() == 0 ? 0 : 1;
}
