#include "common/fast_thread.h"
#include "interpose/allocation.h"

namespace poolscope::interpose {
namespace {

void* GenericMalloc(size_t size) {
  return CountedTracedAllocateGeneric(size, Call::kMalloc, AllocKind::kMalloc);
}

template <Call kCall>
void GenericRelease(void* ptr) {
  CountedTracedReleaseGeneric(ptr, kCall);
}

// The engine's functions behind the sampled-mode routes below. Written before the routes, with
// a release fence between: a route reads them after an acquire fence (no instruction on x86).
constinit engine::Engine::DirectFunctions engine_functions;

// Operator new's way to its generic path.
void* GenericNew(size_t) { return nullptr; }

// The block whose charge ran the countdown out: recorded (and perhaps moved) as the generic
// path records it. Out of line, so that SampledAllocate keeps only `size` across its call.
template <AllocKind kKind>
[[gnu::cold, gnu::noinline]] void* RecordSampledBlock(void* p, size_t size) {
  SampleCountdownRanOut(size);
  return Traced(p, size, kKind);
}

// Blocks are charged to the sampling countdown as the generic path charges them: after the
// allocation succeeds.
template <AllocKind kKind>
void* SampledAllocate(size_t size) {
  std::atomic_thread_fence(std::memory_order_acquire);
  void* p = engine_functions.malloc(size);
  if (p != nullptr && !ChargeSampleCountdown(size)) [[unlikely]] {
    return RecordSampledBlock<kKind>(p, size);
  }
  return p;
}

// A free of a block the recorder cannot rule out as sampled goes to the generic path, which
// records it if it was.
template <Call kCall>
void SampledRelease(void* ptr) {
  if (trace::MaybeSampled(ptr)) [[unlikely]] return GenericRelease<kCall>(ptr);
  std::atomic_thread_fence(std::memory_order_acquire);
  engine_functions.free(ptr);
}

}  // namespace

constinit DirectPath direct_path = {GenericMalloc, GenericRelease<Call::kFree>,
                                    GenericRelease<Call::kDelete>, GenericNew, GenericNew};

void EnableDirectPath(const engine::Engine::DirectFunctions& functions, bool sampled) {
  if (functions.malloc == nullptr || functions.free == nullptr) return;
  engine_functions = functions;
  std::atomic_thread_fence(std::memory_order_release);
  auto route = [](auto* malloc, auto* free, auto* delete_, auto* new_, auto* new_array) {
    direct_path.malloc.store(malloc, std::memory_order_relaxed);
    direct_path.free.store(free, std::memory_order_relaxed);
    direct_path.delete_.store(delete_, std::memory_order_relaxed);
    direct_path.new_.store(new_, std::memory_order_relaxed);
    direct_path.new_array.store(new_array, std::memory_order_relaxed);
  };
  if (sampled) {
    route(SampledAllocate<AllocKind::kMalloc>, SampledRelease<Call::kFree>,
          SampledRelease<Call::kDelete>, SampledAllocate<AllocKind::kNew>,
          SampledAllocate<AllocKind::kNewArray>);
  } else {
    route(functions.malloc, functions.free, functions.free, functions.malloc, functions.malloc);
  }
}

}  // namespace poolscope::interpose
