#include "interpose/runtime.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "interpose/allocation.h"
#include "interpose/bootstrap.h"
#include "interpose/cxx_runtime.h"
#include "trace/recorder.h"

namespace poolscope::interpose {

std::atomic<engine::Engine*> ready_engine{nullptr};
bool count_calls = false;
std::atomic<uint64_t> call_counts[kCallKinds];

namespace {

enum State : int { kUninitialized, kInitializing, kReady };
std::atomic<int> state{kUninitialized};
__thread bool initializing_here __attribute__((tls_model("initial-exec"))) = false;

engine::Engine* StartEngine(const common::Config& config) {
  engine::Engine* e = engine::EngineFor(config.engine);
  if (e->Init(config)) return e;
  if (config.engine != common::EngineKind::kLibc) {
    common::LogLine("engine %s cannot start here; using libc", common::NameOf(config.engine));
    e = engine::EngineFor(common::EngineKind::kLibc);
    if (e->Init(config)) return e;
  }
  common::LogLine("cannot reach glibc's allocator; aborting");
  abort();
}

// The recorder's locks are taken first and released last: recording an event may allocate
// (never the other way round).
void PrepareFork() {
  trace::ForkPrepare();
  if (engine::Engine* e = ready_engine.load(std::memory_order_acquire)) e->ForkPrepare();
}
void ParentAfterFork() {
  if (engine::Engine* e = ready_engine.load(std::memory_order_acquire)) e->ForkParent();
  trace::ForkParent();
}
void ChildAfterFork() {
  if (engine::Engine* e = ready_engine.load(std::memory_order_acquire)) e->ForkChild();
  trace::ForkChild();
}

void PrintCallCounts() {
  auto n = [](Call c) {
    return static_cast<unsigned long long>(
        call_counts[static_cast<int>(c)].load(std::memory_order_relaxed));
  };
  common::LogLine(
      "stats pid %d engine %s: malloc %llu calloc %llu realloc %llu aligned %llu free %llu "
      "new %llu delete %llu bootstrap %llu failed %llu (bootstrap bytes %zu)",
      static_cast<int>(getpid()), common::NameOf(ready_engine.load()->kind()), n(Call::kMalloc),
      n(Call::kCalloc), n(Call::kRealloc), n(Call::kAligned), n(Call::kFree), n(Call::kNew),
      n(Call::kDelete), n(Call::kBootstrap), n(Call::kFailed), bootstrap::BytesUsed());
}

// Runs when the library is loaded, after any earlier constructor may already have allocated
// (and so initialised us lazily). pthread_atfork may allocate, so it is registered here rather
// than inside the first malloc.
__attribute__((constructor)) void OnLoad() {
  // Another thread may be initialising; it finishes on its own, so do not wait for it here
  // (the loader lock this constructor may run under could be what it needs).
  ReadyEngineOrNull();
  pthread_atfork(PrepareFork, ParentAfterFork, ChildAfterFork);
  trace::StartBackgroundWork();
}

// Runs at exit after the program's own atexit handlers and the destructors of libraries loaded
// after us, so the counts cover the whole run.
__attribute__((destructor)) void OnUnload() {
  if (trace::recording) FreeEmergencyPool();
  trace::Finish();
  if (count_calls) PrintCallCounts();
}

}  // namespace

engine::Engine* InitializeOrNull() {
  if (initializing_here) return nullptr;
  int expected = kUninitialized;
  if (!state.compare_exchange_strong(expected, kInitializing, std::memory_order_acq_rel)) {
    return ready_engine.load(std::memory_order_acquire);
  }
  initializing_here = true;
  common::KeepStderr();
  common::Config config =
      common::ParseConfig([](const char* name) -> const char* { return getenv(name); }, environ);
  count_calls = config.stats;
  engine::Engine* e = StartEngine(config);
  ResolveProcessFunctions();
  ready_engine.store(e, std::memory_order_release);
  // The engine's block tags are reserved only for full recording: other runs pay nothing
  // (sampled blocks are moved out of the engine's way, and found in the block map).
  trace::Start(config, common::NameOf(e->kind()),
               config.trace == common::TraceMode::kFull ? e->EnableBlockTags() : nullptr,
               [](void* block, size_t size, size_t alignment, bool keep_contents) {
                 return ready_engine.load(std::memory_order_relaxed)
                     ->MoveSampledBlock(block, size, alignment, keep_contents);
               });
  // Recording starts only here, so a call that needs no counting or full recording now never
  // will. Sampled calls leave the fast paths by themselves (engine/pool/fast_path.h).
  bool at_entry_points = !count_calls && (!trace::recording || trace::sampling);
  e->EnableFastPath(at_entry_points);
  if (at_entry_points) EnableDirectPath(e->Direct(), trace::recording);
  state.store(kReady, std::memory_order_release);
  initializing_here = false;
  return e;
}

}  // namespace poolscope::interpose
