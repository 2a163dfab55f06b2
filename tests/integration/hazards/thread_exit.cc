// Allocation during thread exit. Each thread
//   - sets a pthread key whose destructor frees the value, mallocs/reallocs/callocs a new one
//     and sets the key again, so glibc calls it in four successive rounds;
//   - owns C++ thread_local objects whose destructors allocate (std::string, std::vector,
//     new/delete) while the thread is being torn down;
//   - hands a block to main, which frees it after the thread has exited, and frees a block
//     that a thread of the previous round allocated.
// 8 rounds of 64 threads created and joined. An engine that gives a thread's heap away in its
// own key destructor must let later destructors allocate and free again. Prints only counts.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr int kRounds = 8;
constexpr int kThreads = 64;
constexpr int kKeyRounds = 4;  // PTHREAD_DESTRUCTOR_ITERATIONS on glibc

pthread_key_t key;
std::atomic<int> key_destructor_calls{0};
std::atomic<int> tls_destructor_calls{0};
std::atomic<int> errors{0};

struct KeyValue {
  int round;
  size_t size;
  unsigned char* block;
};

bool Filled(const unsigned char* p, size_t n, unsigned char v) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != v) return false;
  }
  return true;
}

void KeyDestructor(void* arg) {
  auto* value = static_cast<KeyValue*>(arg);
  key_destructor_calls.fetch_add(1);
  if (!Filled(value->block, value->size, static_cast<unsigned char>(value->round + 1))) {
    errors.fetch_add(1);
  }
  free(value->block);
  int next_round = value->round + 1;
  free(value);
  if (next_round >= kKeyRounds) return;
  // Allocate again, after any allocator key destructor may have run.
  auto* next = static_cast<KeyValue*>(calloc(1, sizeof(KeyValue)));
  next->round = next_round;
  next->size = 100 + static_cast<size_t>(next_round) * 5000;
  next->block = static_cast<unsigned char*>(malloc(10));
  next->block = static_cast<unsigned char*>(realloc(next->block, next->size));
  memset(next->block, next_round + 1, next->size);
  pthread_setspecific(key, next);
}

// Its destructor runs during thread exit (before the key destructors) and allocates.
struct ExitLogger {
  std::vector<std::string> lines;
  std::unique_ptr<int[]> numbers;

  ~ExitLogger() {
    std::string summary = "thread exiting with " + std::to_string(lines.size()) + " lines: ";
    for (const std::string& line : lines) summary += line;
    std::vector<char*> scratch;
    for (int i = 0; i < 50; ++i) {
      scratch.push_back(static_cast<char*>(malloc(static_cast<size_t>(i) * 31 + 1)));
      scratch.back()[0] = static_cast<char>(i);
    }
    bool ok = summary.size() > 30 && numbers != nullptr && numbers[99] == 99;
    for (char* p : scratch) free(p);
    auto boxed = std::make_unique<std::string>(summary);
    if (!ok || boxed->empty()) errors.fetch_add(1);
    tls_destructor_calls.fetch_add(1);
  }
};

thread_local ExitLogger exit_logger;
thread_local std::string tls_name;  // its buffer is freed during exit as well

struct Handover {
  unsigned char* block = nullptr;
  size_t size = 0;
  unsigned char fill = 0;
};

Handover handed[kRounds][kThreads];

void* ThreadMain(void* arg) {
  auto* h = static_cast<Handover*>(arg);
  auto* value = static_cast<KeyValue*>(malloc(sizeof(KeyValue)));
  value->round = 0;
  value->size = 64;
  value->block = static_cast<unsigned char*>(malloc(value->size));
  memset(value->block, 1, value->size);
  pthread_setspecific(key, value);

  tls_name = "worker thread with a name long enough to live on the heap";
  for (int i = 0; i < 10; ++i) exit_logger.lines.push_back("line " + std::to_string(i) + "; ");
  exit_logger.numbers.reset(new int[100]);
  for (int i = 0; i < 100; ++i) exit_logger.numbers[i] = i;

  h->size = 1000 + static_cast<size_t>(h - &handed[0][0]) * 37 % 5000;
  h->fill = static_cast<unsigned char>(h->size);
  h->block = static_cast<unsigned char*>(malloc(h->size));
  memset(h->block, h->fill, h->size);
  return nullptr;
}

}  // namespace

int main() {
  if (pthread_key_create(&key, KeyDestructor) != 0) return 2;
  int intact = 0;
  for (int round = 0; round < kRounds; ++round) {
    pthread_t threads[kThreads];
    for (int t = 0; t < kThreads; ++t) {
      if (pthread_create(&threads[t], nullptr, ThreadMain, &handed[round][t]) != 0) return 2;
    }
    for (int t = 0; t < kThreads; ++t) pthread_join(threads[t], nullptr);
    // Blocks from the previous round's threads, long gone, freed now.
    if (round > 0) {
      for (Handover& h : handed[round - 1]) {
        intact += Filled(h.block, h.size, h.fill);
        free(h.block);
      }
    }
  }
  for (Handover& h : handed[kRounds - 1]) {
    intact += Filled(h.block, h.size, h.fill);
    free(h.block);
  }
  printf("threads: %d, key destructor calls: %d, thread_local destructors: %d, "
         "handed-over blocks intact: %d, errors: %d\n",
         kRounds * kThreads, key_destructor_calls.load(), tls_destructor_calls.load(), intact,
         errors.load());
  return errors.load() == 0 ? 0 : 1;
}
