// A single-threaded program whose heap activity is known exactly: run_workload() makes a fixed
// pseudo-random sequence of malloc, calloc, realloc, posix_memalign, aligned_alloc, operator
// new/new[] and frees, and keeps its own books: allocation calls, realloc calls, bytes
// requested (realloc counts its new size), peak live bytes (a realloc replaces the old size by
// the new), and what it leaks on purpose. It prints them after the work.
//
// The work is framed by poolscope_mark("work-begin") / ("work-end") when the library is there
// (looked up with dlsym, so the same binary runs without it), so a trace can tell it from the
// allocations libc and the loader make outside main().
//
// Usage: deterministic [STEPS]   (default 20000)
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <new>

namespace {

enum Kind { kMallocFamily, kNew, kNewArray };

struct Block {
  void* p;
  size_t size;
  Kind kind;
};

constexpr int kSlots = 512;
Block table[kSlots];  // global: the compiler may not elide allocations it cannot see through

uint64_t state = 0x853c49e6748fea9bULL;
uint64_t Next() {
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;
  return state >> 17;
}

struct Books {
  uint64_t allocations = 0, reallocs = 0, frees = 0, bytes = 0, live = 0, peak = 0;
  void Add(size_t size) {
    bytes += size;
    live += size;
    if (live > peak) peak = live;
  }
} books;

size_t DrawSize(uint64_t r) {
  switch (r % 16) {
    case 0:
      return 131072 + (r >> 8) % (4u << 20);  // large: 128 KiB .. 4 MiB
    case 1:
    case 2:
      return 1024 + (r >> 8) % 65536;  // medium
    default:
      return 1 + (r >> 8) % 600;  // small
  }
}

void Release(Block& b) {
  switch (b.kind) {
    case kMallocFamily:
      free(b.p);
      break;
    case kNew:
      ::operator delete(b.p, b.size);  // sized delete
      break;
    case kNewArray:
      ::operator delete[](b.p);
      break;
  }
  books.live -= b.size;
  ++books.frees;
  b.p = nullptr;
}

void Allocate(Block& b, uint64_t r) {
  size_t size = DrawSize(r);
  void* p = nullptr;
  Kind kind = kMallocFamily;
  switch ((r >> 4) % 7) {
    case 0:
    case 1:
      p = malloc(size);
      break;
    case 2:
      p = calloc(1, size);
      break;
    case 3:
      if (posix_memalign(&p, 64, size) != 0) p = nullptr;
      break;
    case 4:
      p = aligned_alloc(256, (size + 255) & ~size_t{255});
      size = (size + 255) & ~size_t{255};
      break;
    case 5:
      p = ::operator new(size);
      kind = kNew;
      break;
    case 6:
      p = ::operator new[](size);
      kind = kNewArray;
      break;
  }
  if (p == nullptr) {
    fprintf(stderr, "allocation of %zu failed\n", size);
    exit(3);
  }
  static_cast<volatile char*>(p)[0] = 1;
  b = {p, size, kind};
  ++books.allocations;
  books.Add(size);
}

}  // namespace

extern "C" __attribute__((noinline)) void run_workload(int steps) {
  for (int i = 0; i < steps; ++i) {
    uint64_t r = Next();
    Block& b = table[r % kSlots];
    if (b.p == nullptr) {
      Allocate(b, Next());
    } else if (b.kind == kMallocFamily && (r >> 9) % 4 == 0) {
      size_t size = DrawSize(Next());
      void* p = realloc(b.p, size);
      if (p == nullptr) exit(3);
      books.live -= b.size;
      ++books.reallocs;
      books.Add(size);
      b.p = p;
      b.size = size;
    } else {
      Release(b);
    }
  }
  // Leak every seventh slot still in use; free the rest.
  for (int i = 0; i < kSlots; ++i) {
    if (table[i].p != nullptr && i % 7 != 0) Release(table[i]);
  }
}

int main(int argc, char** argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 20000;
  using MarkFn = void (*)(const char*);
  auto mark = reinterpret_cast<MarkFn>(dlsym(RTLD_DEFAULT, "poolscope_mark"));
  if (mark) mark("work-begin");
  run_workload(steps);
  if (mark) mark("work-end");
  uint64_t leaked_blocks = 0;
  for (auto& b : table) leaked_blocks += b.p != nullptr;
  printf("allocations=%llu\nreallocs=%llu\nfrees=%llu\nbytes=%llu\npeak=%llu\nleaked_bytes=%llu\n"
         "leaked_blocks=%llu\n",
         (unsigned long long)books.allocations, (unsigned long long)books.reallocs,
         (unsigned long long)books.frees, (unsigned long long)books.bytes,
         (unsigned long long)books.peak, (unsigned long long)books.live,
         (unsigned long long)leaked_blocks);
  return 0;
}
