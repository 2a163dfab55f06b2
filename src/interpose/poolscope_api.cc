// The public C API of include/poolscope/poolscope.h.
#include "poolscope/poolscope.h"

#include <cstring>

#include "common/engine_kind.h"
#include "common/version.h"
#include "interpose/export.h"
#include "interpose/runtime.h"
#include "trace/recorder.h"

namespace ip = poolscope::interpose;

POOLSCOPE_EXPORT int poolscope_get_stats(struct poolscope_stats* out) {
  ip::ReadyEngineOrNull();
  poolscope::engine::Engine* e = ip::ready_engine.load(std::memory_order_acquire);
  if (out == nullptr || !ip::count_calls || e == nullptr) return -1;
  poolscope_stats s{};
  strncpy(s.engine, poolscope::common::NameOf(e->kind()), sizeof(s.engine) - 1);
  auto n = [](ip::Call c) {
    return ip::call_counts[static_cast<int>(c)].load(std::memory_order_relaxed);
  };
  s.malloc_calls = n(ip::Call::kMalloc);
  s.calloc_calls = n(ip::Call::kCalloc);
  s.realloc_calls = n(ip::Call::kRealloc);
  s.aligned_calls = n(ip::Call::kAligned);
  s.free_calls = n(ip::Call::kFree);
  s.new_calls = n(ip::Call::kNew);
  s.delete_calls = n(ip::Call::kDelete);
  s.bootstrap_allocations = n(ip::Call::kBootstrap);
  s.failed_allocations = n(ip::Call::kFailed);
  size_t size = out->struct_size < sizeof(s) ? out->struct_size : sizeof(s);
  s.struct_size = size;
  memcpy(out, &s, size);
  return 0;
}

POOLSCOPE_EXPORT void poolscope_mark(const char* name) { poolscope::trace::RecordMark(name); }

POOLSCOPE_EXPORT void poolscope_flush(void) { poolscope::trace::FlushAll(); }

// Read from the file by `poolscope --version` (see common/version.h).
__attribute__((used)) static const char kEmbeddedVersion[] =
    POOLSCOPE_LIBRARY_VERSION_MARKER POOLSCOPE_LIBRARY_VERSION;
