#include "interpose/cxx_runtime.h"

#include <dlfcn.h>
#include <stdlib.h>

#include <atomic>

#include "common/log.h"
#include "trace/recorder.h"

namespace poolscope::interpose {
namespace {

std::atomic<void*> libstdcxx{nullptr};

// The definition after ours in the global scope, when the program links libstdc++; otherwise
// the one in libstdc++ wherever it was loaded. Only that second lookup allocates (the loader
// builds the library's scope at its first dlopen), and only in a failed allocation.
void* RuntimeSymbol(const char* name) {
  if (void* symbol = dlsym(RTLD_NEXT, name)) return symbol;
  void* handle = libstdcxx.load(std::memory_order_acquire);
  if (handle == nullptr) {
    // The handle is a reference of ours, so libstdc++ stays loaded as long as it is cached.
    handle = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_NOLOAD);
    if (handle == nullptr) return nullptr;
    libstdcxx.store(handle, std::memory_order_release);
  }
  return dlsym(handle, name);
}

}  // namespace

std::new_handler CurrentNewHandler() {
  auto get = reinterpret_cast<std::new_handler (*)()>(RuntimeSymbol("_ZSt15get_new_handlerv"));
  return get != nullptr ? get() : nullptr;
}

void ThrowBadAlloc() {
  auto throw_bad_alloc = reinterpret_cast<void (*)()>(RuntimeSymbol("_ZSt17__throw_bad_allocv"));
  if (throw_bad_alloc != nullptr) throw_bad_alloc();
  common::LogLine("operator new failed and no libstdc++ is loaded to throw std::bad_alloc; aborting");
  abort();
}

void* RuntimeNothrowNew(size_t size, size_t alignment, bool array) noexcept {
  if (alignment == 0) {
    auto nothrow_new = reinterpret_cast<void* (*)(size_t, const std::nothrow_t&)>(
        RuntimeSymbol(array ? "_ZnamRKSt9nothrow_t" : "_ZnwmRKSt9nothrow_t"));
    return nothrow_new != nullptr ? nothrow_new(size, std::nothrow_t{}) : nullptr;
  }
  auto nothrow_new = reinterpret_cast<void* (*)(size_t, std::align_val_t, const std::nothrow_t&)>(
      RuntimeSymbol(array ? "_ZnamSt11align_val_tRKSt9nothrow_t"
                          : "_ZnwmSt11align_val_tRKSt9nothrow_t"));
  return nothrow_new != nullptr ? nothrow_new(size, std::align_val_t{alignment}, std::nothrow_t{})
                                : nullptr;
}

void FreeEmergencyPool() {
  // __gnu_cxx::__freeres (CXXABI_1.3.10, GCC 7): frees the pool once, then does nothing. The
  // look-up allocates when it fails (dlerror's message): not the program's allocations.
  void* freeres = nullptr;
  trace::Untraced(
      [](void* out) { *static_cast<void**>(out) = RuntimeSymbol("_ZN9__gnu_cxx9__freeresEv"); },
      &freeres);
  if (freeres != nullptr) reinterpret_cast<void (*)()>(freeres)();
}

}  // namespace poolscope::interpose
