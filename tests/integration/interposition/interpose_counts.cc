// Proof that the library really interposes: the program reads the library's call counters
// (found with dlsym, so the same binary runs without the library), makes an exact, known number
// of calls to each entry-point family, reads the counters again and prints the differences next
// to its own counts. interposition.sh checks that they agree to the call.
//
// Between the two readings the program calls nothing that could allocate behind its back: no
// stdio, no containers, no exceptions. Pointers go into volatile slots so the compiler cannot
// drop an allocation it can see is unused (it is also built with -fno-builtin).
//
// Exit status: 0 counters read, 3 the API is missing (no library), 4 the API is there but
// counting is off (POOLSCOPE_STATS unset), 1 something else went wrong.
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <new>

#include <poolscope/poolscope.h>

namespace {

poolscope_get_stats_fn get_stats;

struct Counts {
  uint64_t malloc_calls = 0, calloc_calls = 0, realloc_calls = 0, aligned_calls = 0;
  uint64_t free_calls = 0, new_calls = 0, delete_calls = 0, failed = 0, bootstrap = 0;
};

void Print(const char* label, const Counts& c) {
  printf("%s malloc %llu calloc %llu realloc %llu aligned %llu free %llu new %llu delete %llu "
         "failed %llu bootstrap %llu\n",
         label, (unsigned long long)c.malloc_calls, (unsigned long long)c.calloc_calls,
         (unsigned long long)c.realloc_calls, (unsigned long long)c.aligned_calls,
         (unsigned long long)c.free_calls, (unsigned long long)c.new_calls,
         (unsigned long long)c.delete_calls, (unsigned long long)c.failed,
         (unsigned long long)c.bootstrap);
}

poolscope_stats Read() {
  poolscope_stats s;
  memset(&s, 0, sizeof s);
  s.struct_size = sizeof s;
  if (get_stats(&s) != 0) {
    // Cannot happen after the first successful read; say so loudly if it does.
    static const char msg[] = "poolscope_get_stats failed between readings\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
  }
  return s;
}

Counts Delta(const poolscope_stats& a, const poolscope_stats& b) {
  Counts d;
  d.malloc_calls = b.malloc_calls - a.malloc_calls;
  d.calloc_calls = b.calloc_calls - a.calloc_calls;
  d.realloc_calls = b.realloc_calls - a.realloc_calls;
  d.aligned_calls = b.aligned_calls - a.aligned_calls;
  d.free_calls = b.free_calls - a.free_calls;
  d.new_calls = b.new_calls - a.new_calls;
  d.delete_calls = b.delete_calls - a.delete_calls;
  d.failed = b.failed_allocations - a.failed_allocations;
  d.bootstrap = b.bootstrap_allocations - a.bootstrap_allocations;
  return d;
}

// The exact workload of the single-threaded phase.
constexpr int kMallocs = 1000, kFailingMallocs = 3;
constexpr int kCallocs = 300, kFailingCallocs = 1;
constexpr int kReallocs = 200, kReallocArrays = 50, kReallocNull = 10;
constexpr int kPosixMemaligns = 40, kAlignedAllocs = 30, kMemaligns = 20, kVallocs = 5,
              kPvallocs = 5;
constexpr int kFreeNull = 5;
constexpr int kPerNewForm = 10;  // 8 operator new forms
constexpr int kDeleteNull = 3;
constexpr int kFailingNothrowNews = 2;
constexpr int kAligned = kPosixMemaligns + kAlignedAllocs + kMemaligns + kVallocs + kPvallocs;
constexpr int kLiveC = kMallocs + kCallocs + kReallocNull + kAligned;

void* volatile slots[kLiveC];
void* volatile new_slots[8][kPerNewForm];
volatile size_t huge = static_cast<size_t>(PTRDIFF_MAX) + 1;  // every allocator refuses it
volatile size_t half_of_everything = SIZE_MAX / 2;
volatile size_t sink;
int misaligned;

void Touch(void* p, size_t n) {
  if (p == nullptr) abort();
  static_cast<volatile char*>(p)[0] = 1;
  static_cast<volatile char*>(p)[n - 1] = 2;
}

void CheckAlignment(void* p, size_t alignment) {
  if (reinterpret_cast<uintptr_t>(p) % alignment != 0) ++misaligned;
}

Counts SingleThreadedWorkload() {
  int live = 0;
  for (int i = 0; i < kMallocs; ++i) {
    size_t n = 1 + (i * 37) % 5000;
    void* p = malloc(n);
    Touch(p, n);
    slots[live++] = p;
  }
  for (int i = 0; i < kFailingMallocs; ++i) {
    if (malloc(huge) != nullptr) abort();
  }
  for (int i = 0; i < kCallocs; ++i) {
    size_t n = 1 + (i * 53) % 3000;
    void* p = calloc(n, 2);
    Touch(p, 2 * n);
    slots[live++] = p;
  }
  if (calloc(half_of_everything, 4) != nullptr) abort();  // count * size overflows
  for (int i = 0; i < kReallocs; ++i) {             // grow some malloc blocks
    void* p = realloc(slots[i], 6000 + i);
    Touch(p, 6000 + i);
    slots[i] = p;
  }
  for (int i = 0; i < kReallocArrays; ++i) {
    void* p = reallocarray(slots[kReallocs + i], 100 + i, 8);
    Touch(p, 8 * (100 + i));
    slots[kReallocs + i] = p;
  }
  for (int i = 0; i < kReallocNull; ++i) {  // realloc(NULL, n) allocates: still one realloc call
    void* p = realloc(nullptr, 64 + i);
    Touch(p, 64 + i);
    slots[live++] = p;
  }
  for (int i = 0; i < kPosixMemaligns; ++i) {
    size_t alignment = size_t{16} << (i % 9);  // 16 .. 4096
    void* p = nullptr;
    if (posix_memalign(&p, alignment, 100 + i) != 0) abort();
    Touch(p, 100 + i);
    CheckAlignment(p, alignment);
    slots[live++] = p;
  }
  for (int i = 0; i < kAlignedAllocs; ++i) {
    size_t alignment = size_t{32} << (i % 8);  // 32 .. 4096
    void* p = aligned_alloc(alignment, alignment * (1 + i % 3));
    Touch(p, alignment);
    CheckAlignment(p, alignment);
    slots[live++] = p;
  }
  for (int i = 0; i < kMemaligns; ++i) {
    size_t alignment = size_t{64} << (i % 7);  // 64 .. 4096
    void* p = memalign(alignment, 300 + i);
    Touch(p, 300 + i);
    CheckAlignment(p, alignment);
    slots[live++] = p;
  }
  for (int i = 0; i < kVallocs; ++i) {
    void* p = valloc(1000 + i);
    Touch(p, 1000 + i);
    CheckAlignment(p, 4096);
    slots[live++] = p;
  }
  for (int i = 0; i < kPvallocs; ++i) {
    void* p = pvalloc(5000 + i);
    Touch(p, 5000 + i);
    CheckAlignment(p, 4096);
    slots[live++] = p;
  }
  // malloc_usable_size is not an allocation call and must not be counted as one.
  for (int i = 0; i < 10; ++i) sink = malloc_usable_size(slots[i]);
  for (int i = 0; i < live; ++i) free(slots[i]);
  for (int i = 0; i < kFreeNull; ++i) free(nullptr);
  if (live != kLiveC) abort();

  // Every operator new form, kPerNewForm times, each released with a matching delete form;
  // the sized and unsized variants are split between the blocks of one new form.
  auto al = [](int i) { return std::align_val_t{size_t{32} << (i % 8)}; };  // 32 .. 4096
  for (int i = 0; i < kPerNewForm; ++i) {
    size_t n = 8 + i * 24;
    new_slots[0][i] = ::operator new(n);
    new_slots[1][i] = ::operator new[](n);
    new_slots[2][i] = ::operator new(n, std::nothrow);
    new_slots[3][i] = ::operator new[](n, std::nothrow);
    new_slots[4][i] = ::operator new(n, al(i));
    new_slots[5][i] = ::operator new[](n, al(i));
    new_slots[6][i] = ::operator new(n, al(i), std::nothrow);
    new_slots[7][i] = ::operator new[](n, al(i), std::nothrow);
    for (int f = 0; f < 8; ++f) Touch(new_slots[f][i], n);
    for (int f = 4; f < 8; ++f) CheckAlignment(new_slots[f][i], static_cast<size_t>(al(i)));
  }
  for (int i = 0; i < kPerNewForm; ++i) {
    size_t n = 8 + i * 24;
    bool sized = i % 2 == 0;
    if (sized) {
      ::operator delete(new_slots[0][i], n);
      ::operator delete[](new_slots[1][i], n);
      ::operator delete(new_slots[4][i], n, al(i));
      ::operator delete[](new_slots[5][i], n, al(i));
    } else {
      ::operator delete(new_slots[0][i]);
      ::operator delete[](new_slots[1][i]);
      ::operator delete(new_slots[4][i], al(i));
      ::operator delete[](new_slots[5][i], al(i));
    }
    ::operator delete(new_slots[2][i], std::nothrow);
    ::operator delete[](new_slots[3][i], std::nothrow);
    ::operator delete(new_slots[6][i], al(i), std::nothrow);
    ::operator delete[](new_slots[7][i], al(i), std::nothrow);
  }
  for (int i = 0; i < kDeleteNull; ++i) ::operator delete(nullptr);
  for (int i = 0; i < kFailingNothrowNews; ++i) {
    if (::operator new(huge, std::nothrow) != nullptr) abort();
  }

  Counts expect;
  expect.malloc_calls = kMallocs + kFailingMallocs;
  expect.calloc_calls = kCallocs + kFailingCallocs;
  expect.realloc_calls = kReallocs + kReallocArrays + kReallocNull;
  expect.aligned_calls = kAligned;
  expect.free_calls = kLiveC + kFreeNull;
  expect.new_calls = 8 * kPerNewForm + kFailingNothrowNews;
  expect.delete_calls = 8 * kPerNewForm + kDeleteNull;
  expect.failed = kFailingMallocs + kFailingCallocs + kFailingNothrowNews;
  return expect;
}

// The threaded phase: kThreads threads, created before the first reading and kept alive until
// after the second, each doing the same exact workload at the same time.
constexpr int kThreads = 4;
constexpr int kThreadBlocks = 2000;
std::atomic<int> go{0}, done{0}, release{0};

void* ThreadWorkload(void*) {
  while (go.load(std::memory_order_acquire) == 0) sched_yield();
  void* blocks[64];
  for (int round = 0; round < kThreadBlocks / 64 + 1; ++round) {
    int n = round == kThreadBlocks / 64 ? kThreadBlocks % 64 : 64;
    for (int i = 0; i < n; ++i) {
      switch (i % 4) {
        case 0: blocks[i] = malloc(16 + i); break;
        case 1: blocks[i] = calloc(4, 16 + i); break;
        case 2: blocks[i] = ::operator new(16 + i); break;
        case 3: blocks[i] = ::operator new(16 + i, std::align_val_t{64}); break;
      }
      Touch(blocks[i], 16 + i);
    }
    for (int i = 0; i < n; i += 4) blocks[i] = realloc(blocks[i], 200 + i);
    for (int i = 0; i < n; ++i) {
      switch (i % 4) {
        case 0:
        case 1: free(blocks[i]); break;
        case 2: ::operator delete(blocks[i], size_t{16} + i); break;
        case 3: ::operator delete(blocks[i], std::align_val_t{64}); break;
      }
    }
  }
  done.fetch_add(1, std::memory_order_acq_rel);
  while (release.load(std::memory_order_acquire) == 0) sched_yield();
  return nullptr;
}

Counts ThreadedExpectation() {
  static_assert(kThreadBlocks % 4 == 0 && (kThreadBlocks % 64) % 4 == 0);
  Counts e;
  uint64_t quarter = kThreads * (kThreadBlocks / 4);
  e.malloc_calls = quarter;
  e.calloc_calls = quarter;
  e.realloc_calls = quarter;
  e.free_calls = 2 * quarter;
  e.new_calls = 2 * quarter;
  e.delete_calls = 2 * quarter;
  return e;
}

}  // namespace

int main() {
  get_stats = reinterpret_cast<poolscope_get_stats_fn>(dlsym(RTLD_DEFAULT, "poolscope_get_stats"));
  if (get_stats == nullptr) {
    printf("api missing: poolscope_get_stats not found\n");
    return 3;
  }
  poolscope_stats probe;
  memset(&probe, 0, sizeof probe);
  probe.struct_size = sizeof probe;
  if (get_stats(&probe) != 0) {
    printf("api present, counting off\n");
    return 4;
  }
  printf("api present, engine %s, pid %d\n", probe.engine, static_cast<int>(getpid()));
  fflush(stdout);

  poolscope_stats before = Read();
  Counts expect = SingleThreadedWorkload();
  poolscope_stats after = Read();
  Print("expect", expect);
  Print("actual", Delta(before, after));
  printf("misaligned %d\n", misaligned);

  pthread_t threads[kThreads];
  for (pthread_t& t : threads) {
    if (pthread_create(&t, nullptr, ThreadWorkload, nullptr) != 0) abort();
  }
  before = Read();
  go.store(1, std::memory_order_release);
  while (done.load(std::memory_order_acquire) != kThreads) sched_yield();
  after = Read();
  release.store(1, std::memory_order_release);
  for (pthread_t t : threads) pthread_join(t, nullptr);
  Print("threads-expect", ThreadedExpectation());
  Print("threads-actual", Delta(before, after));
  return 0;
}
