#include "engine/libc/libc_engine.h"

#include <dlfcn.h>

#include "common/log.h"

namespace poolscope::engine::libc {
namespace {

// The version each symbol had when it first appeared on x86-64, for when the default-version
// lookup fails (some environments interpose dlsym itself).
struct Symbol {
  const char* name;
  const char* version;
};

void* Resolve(const Symbol& s) {
  void* fn = dlsym(RTLD_NEXT, s.name);
  if (fn == nullptr) fn = dlvsym(RTLD_NEXT, s.name, s.version);
  if (fn == nullptr) common::LogLine("libc engine: cannot find glibc's %s", s.name);
  return fn;
}

template <typename Fn>
bool Bind(Fn*& slot, const Symbol& s) {
  slot = reinterpret_cast<Fn*>(Resolve(s));
  return slot != nullptr;
}

}  // namespace

LibcEngine& LibcEngine::Instance() {
  static constinit LibcEngine engine;
  return engine;
}

bool LibcEngine::Init(const common::Config&) {
  // dlsym may itself call malloc/calloc; the caller serves those from the bootstrap arena.
  bool ok = true;
  ok &= Bind(malloc_, {"malloc", "GLIBC_2.2.5"});
  ok &= Bind(calloc_, {"calloc", "GLIBC_2.2.5"});
  ok &= Bind(memalign_, {"memalign", "GLIBC_2.2.5"});
  ok &= Bind(realloc_, {"realloc", "GLIBC_2.2.5"});
  ok &= Bind(free_, {"free", "GLIBC_2.2.5"});
  ok &= Bind(usable_size_, {"malloc_usable_size", "GLIBC_2.2.5"});
  ok &= Bind(mallinfo2_, {"mallinfo2", "GLIBC_2.33"});
  ok &= Bind(trim_, {"malloc_trim", "GLIBC_2.2.5"});
  ok &= Bind(mallopt_, {"mallopt", "GLIBC_2.2.5"});
  ok &= Bind(stats_, {"malloc_stats", "GLIBC_2.2.5"});
  ok &= Bind(info_, {"malloc_info", "GLIBC_2.10"});
  return ok;
}

}  // namespace poolscope::engine::libc
