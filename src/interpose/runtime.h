// The interposition layer's process-wide state: which engine serves allocations, lazy
// initialisation on the first call, per-entry-point call counts, and fork handling.
#ifndef POOLSCOPE_SRC_INTERPOSE_RUNTIME_H_
#define POOLSCOPE_SRC_INTERPOSE_RUNTIME_H_

#include <atomic>
#include <cstdint>

#include "engine/engine.h"

namespace poolscope::interpose {

// The entry-point families counted when POOLSCOPE_STATS is on.
enum class Call : uint8_t {
  kMalloc,
  kCalloc,
  kRealloc,
  kAligned,  // posix_memalign, aligned_alloc, memalign, valloc, pvalloc
  kFree,
  kNew,
  kDelete,
  kBootstrap,  // allocations served by the bootstrap arena, whatever the entry point
  kFailed,     // allocations that returned null
};
inline constexpr int kCallKinds = static_cast<int>(Call::kFailed) + 1;

extern std::atomic<engine::Engine*> ready_engine;
extern bool count_calls;
extern std::atomic<uint64_t> call_counts[kCallKinds];

// Initialises on the first call. Returns null while initialisation is in progress (on this
// thread, re-entered through dlsym, or on another thread): the caller then uses the bootstrap
// arena.
engine::Engine* InitializeOrNull();

// Looks up glibc's exit and exec functions for the wrappers in process_api.cc; runs during
// initialisation, before the program can have a dlerror() pending that a lookup would clear.
void ResolveProcessFunctions();

inline engine::Engine* ReadyEngineOrNull() {
  engine::Engine* e = ready_engine.load(std::memory_order_acquire);
  if (e != nullptr) [[likely]] return e;
  return InitializeOrNull();
}

inline void CountCall(Call call) {
  if (count_calls) [[unlikely]] {
    call_counts[static_cast<int>(call)].fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace poolscope::interpose

#endif  // POOLSCOPE_SRC_INTERPOSE_RUNTIME_H_
