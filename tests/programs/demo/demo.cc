// poolscope-demo: a small program with the allocation patterns poolscope is built to show, for
// scripts/demo.sh. It prints what it did; run it under `poolscope run --stats` to see the calls.
//   - a vector that grows by doubling (realloc-like: allocate, copy, free the old buffer)
//   - a std::map of strings (one node per entry, long keys on the heap)
//   - temporary strings built and dropped in a loop (short-lived allocations)
//   - blocks that are deliberately never freed (leaks)
//   - two worker threads, each with its own churn, handing results back to the main thread
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kLeakedBlocks = 8;
constexpr size_t kLeakedBytes = 1024;

void* volatile leaked[kLeakedBlocks];  // reachable from nowhere once overwritten

size_t GrowingVector() {
  std::vector<int> v;  // no reserve(): it reallocates as it grows
  size_t reallocations = 0;
  size_t capacity = v.capacity();
  for (int i = 0; i < 200000; ++i) {
    v.push_back(i);
    if (v.capacity() != capacity) {
      capacity = v.capacity();
      ++reallocations;
    }
  }
  printf("growing vector: %zu elements, %zu reallocations\n", v.size(), reallocations);
  return reallocations;
}

void MapOfStrings() {
  std::map<std::string, std::string> m;
  for (int i = 0; i < 5000; ++i) {
    m["key number " + std::to_string(i) + " with a name too long for the small-string buffer"] =
        std::string(static_cast<size_t>(i % 200), 'x');
  }
  size_t bytes = 0;
  for (const auto& [k, v] : m) bytes += k.size() + v.size();
  printf("map: %zu entries, %zu bytes of keys and values\n", m.size(), bytes);
}

void TemporaryStrings() {
  size_t total = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = "temporary string #" + std::to_string(i) + " built, measured and dropped";
    total += s.size();
  }
  printf("temporary strings: 20000 built, %zu characters in all\n", total);
}

void Leak() {
  for (int i = 0; i < kLeakedBlocks; ++i) {
    leaked[i] = malloc(kLeakedBytes);
    memset(leaked[i], i, kLeakedBytes);
  }
  printf("leaked: %d blocks of %zu bytes, never freed\n", kLeakedBlocks, kLeakedBytes);
}

void Worker(int id, std::unique_ptr<std::vector<std::string>>* out) {
  auto results = std::make_unique<std::vector<std::string>>();
  for (int i = 0; i < 3000; ++i) {
    auto buffer = std::make_unique<char[]>(64 + static_cast<size_t>(i % 512));
    snprintf(buffer.get(), 64, "worker %d item %d", id, i);
    if (i % 100 == 0) results->emplace_back(buffer.get());
  }
  *out = std::move(results);  // allocated here, freed later by the main thread
}

}  // namespace

int main() {
  GrowingVector();
  MapOfStrings();
  TemporaryStrings();
  Leak();
  std::unique_ptr<std::vector<std::string>> results[2];
  std::thread a(Worker, 1, &results[0]);
  std::thread b(Worker, 2, &results[1]);
  a.join();
  b.join();
  printf("threads: 2 workers returned %zu and %zu results to the main thread\n",
         results[0]->size(), results[1]->size());
  return 0;
}
