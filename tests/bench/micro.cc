// Google Benchmark micro-benchmarks of the allocator fast paths. Run under any allocator
// with LD_PRELOAD (scripts/bench.sh --micro does, for every allocator it compares).
//
//   BM_MallocFree/SIZE        malloc + free of one block, the same thread: per size class
//   BM_MallocFreeBatch/SIZE   64 mallocs then 64 frees: the free list in LIFO order
//   BM_NewDelete/SIZE         operator new + sized operator delete
//   BM_RemoteFree/SIZE        free of blocks another thread allocated (timed: the frees only)
//   BM_AlignedAlloc/ALIGN/SIZE aligned_alloc + free
//   BM_Calloc/SIZE, BM_ReallocGrow  calloc + free; realloc growing a block step by step
#include <benchmark/benchmark.h>

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

namespace {

void SizeClasses(benchmark::internal::Benchmark* b) {
  for (long size : {8, 16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024, 2048, 4096, 8192,
                    16384, 32768, 65536, 262144}) {
    b->Arg(size);
  }
}

void BM_MallocFree(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* p = std::malloc(size);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MallocFree)->Apply(SizeClasses);

void BM_MallocFreeBatch(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  void* blocks[64];
  for (auto _ : state) {
    for (void*& p : blocks) {
      p = std::malloc(size);
      benchmark::DoNotOptimize(p);
    }
    for (void* p : blocks) std::free(p);
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_MallocFreeBatch)->Arg(16)->Arg(64)->Arg(256)->Arg(1024)->Arg(4096);

void BM_NewDelete(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* p = ::operator new(size);
    benchmark::DoNotOptimize(p);
    ::operator delete(p, size);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NewDelete)->Arg(16)->Arg(64)->Arg(256)->Arg(1024);

// A helper thread that allocates a batch of blocks on request, so the benchmark thread can
// time freeing blocks it does not own.
class RemoteAllocator {
 public:
  explicit RemoteAllocator(size_t size) : size_(size), thread_([this] { Run(); }) {}
  ~RemoteAllocator() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Fill(std::vector<void*>& out) {
    std::unique_lock<std::mutex> lock(mu_);
    target_ = &out;
    cv_.notify_all();
    cv_.wait(lock, [this] { return target_ == nullptr; });
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || target_ != nullptr; });
      if (stop_) return;
      for (void*& p : *target_) {
        p = std::malloc(size_);
        std::memset(p, 1, 8);
      }
      target_ = nullptr;
      cv_.notify_all();
    }
  }
  size_t size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<void*>* target_ = nullptr;
  bool stop_ = false;
  std::thread thread_;
};

void BM_RemoteFree(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  constexpr size_t kBatch = 4096;
  std::vector<void*> blocks(kBatch);
  RemoteAllocator helper(size);
  for (auto _ : state) {
    state.PauseTiming();
    helper.Fill(blocks);
    state.ResumeTiming();
    for (void* p : blocks) std::free(p);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_RemoteFree)->Arg(16)->Arg(64)->Arg(256)->Arg(1024)->UseRealTime();

void BM_AlignedAlloc(benchmark::State& state) {
  size_t align = static_cast<size_t>(state.range(0));
  size_t size = static_cast<size_t>(state.range(1));
  for (auto _ : state) {
    void* p = std::aligned_alloc(align, size);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AlignedAlloc)
    ->Args({16, 64})
    ->Args({64, 64})
    ->Args({64, 256})
    ->Args({256, 256})
    ->Args({4096, 4096})
    ->Args({4096, 64})
    ->Args({65536, 65536})
    ->Args({2 << 20, 2 << 20});

void BM_Calloc(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* p = std::calloc(1, size);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Calloc)->Arg(64)->Arg(4096)->Arg(65536);

void BM_ReallocGrow(benchmark::State& state) {
  for (auto _ : state) {
    void* p = nullptr;
    for (size_t size = 16; size <= 16384; size += size / 2) {
      p = std::realloc(p, size);
      benchmark::DoNotOptimize(p);
    }
    std::free(p);
  }
}
BENCHMARK(BM_ReallocGrow);

}  // namespace

BENCHMARK_MAIN();
