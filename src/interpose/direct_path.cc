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

// The block whose charge ran the countdown out: recorded (and perhaps moved) as the generic
// path records it. Out of line, so that SampledMalloc keeps only `size` across its call.
[[gnu::cold, gnu::noinline]] void* RecordMallocBlock(void* p, size_t size) {
  SampleCountdownRanOut(size);
  return Traced(p, size, AllocKind::kMalloc);
}

// Blocks are charged to the sampling countdown as the generic path charges them: after the
// allocation succeeds.
void* SampledMalloc(size_t size) {
  std::atomic_thread_fence(std::memory_order_acquire);
  void* p = engine_functions.malloc(size);
  if (p != nullptr && !ChargeSampleCountdown(size)) [[unlikely]] return RecordMallocBlock(p, size);
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
                                    GenericRelease<Call::kDelete>};

void EnableDirectPath(const engine::Engine::DirectFunctions& functions, bool sampled) {
  if (functions.malloc == nullptr || functions.free == nullptr) return;
  engine_functions = functions;
  std::atomic_thread_fence(std::memory_order_release);
  auto route = [](auto* malloc, auto* free, auto* delete_) {
    direct_path.malloc.store(malloc, std::memory_order_relaxed);
    direct_path.free.store(free, std::memory_order_relaxed);
    direct_path.delete_.store(delete_, std::memory_order_relaxed);
  };
  if (sampled) {
    route(SampledMalloc, SampledRelease<Call::kFree>, SampledRelease<Call::kDelete>);
  } else {
    route(functions.malloc, functions.free, functions.free);
  }
}

}  // namespace poolscope::interpose
