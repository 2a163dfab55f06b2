#include "trace/unwinder.h"

#include <dlfcn.h>
#include <link.h>
#include <sched.h>

#include <atomic>

#include "common/log.h"

namespace poolscope::trace {
namespace {

using BacktraceFn = int (*)(void**, int);
std::atomic<BacktraceFn> backtrace_fn{nullptr};
// Threads inside libunwind, and whether a fork is waiting for them to leave.
std::atomic<int> unwinding{0};
std::atomic<bool> fork_waiting{false};
__thread bool unwinding_here __attribute__((tls_model("initial-exec"))) = false;

// libunwind's text, set before backtrace_fn is published.
uintptr_t unwinder_text_begin = 0;
uintptr_t unwinder_text_end = 0;

// libunwind's UNW_CACHE_PER_THREAD: each thread keeps its own cache of unwind information, so
// looking it up takes no lock (libunwind's memory pools still do: see UnwinderForkPrepare).
constexpr int kCachePerThread = 2;

}  // namespace

bool LoadUnwinder() {
  if (backtrace_fn.load(std::memory_order_acquire) != nullptr) return true;
  void* handle = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    common::LogLine("cannot load libunwind.so.8: allocations are recorded without stacks");
    return false;
  }
  auto fn = reinterpret_cast<BacktraceFn>(dlsym(handle, "unw_backtrace"));
  auto set_caching = reinterpret_cast<int (*)(void*, int)>(dlsym(handle, "_ULx86_64_set_caching_policy"));
  void* address_space = dlsym(handle, "_ULx86_64_local_addr_space");
  if (fn == nullptr) {
    common::LogLine("libunwind.so.8 has no unw_backtrace: allocations are recorded without stacks");
    return false;
  }
  if (set_caching != nullptr && address_space != nullptr) {
    set_caching(*static_cast<void**>(address_space), kCachePerThread);
  }
  TextOf(reinterpret_cast<const void*>(fn), &unwinder_text_begin, &unwinder_text_end);
  backtrace_fn.store(fn, std::memory_order_release);
  return true;
}

int CaptureStack(uintptr_t* frames, int max) {
  BacktraceFn fn = backtrace_fn.load(std::memory_order_acquire);
  if (fn == nullptr) return 0;
  // Dekker with UnwinderForkPrepare: either the fork sees this thread counted, or this thread
  // sees the fork waiting and steps back until it is over.
  for (;;) {
    unwinding.fetch_add(1, std::memory_order_seq_cst);
    if (!fork_waiting.load(std::memory_order_seq_cst)) break;
    unwinding.fetch_sub(1, std::memory_order_seq_cst);
    while (fork_waiting.load(std::memory_order_acquire)) sched_yield();
  }
  unwinding_here = true;
  int n = fn(reinterpret_cast<void**>(frames), max);
  unwinding_here = false;
  unwinding.fetch_sub(1, std::memory_order_release);
  return n;
}

void UnwinderForkPrepare() {
  fork_waiting.store(true, std::memory_order_seq_cst);
  int self = unwinding_here ? 1 : 0;
  while (unwinding.load(std::memory_order_seq_cst) > self) sched_yield();
}

void UnwinderForkParent() { fork_waiting.store(false, std::memory_order_release); }

void UnwinderForkChild() {
  if (unwinding_here) backtrace_fn.store(nullptr, std::memory_order_relaxed);
  unwinding.store(unwinding_here ? 1 : 0, std::memory_order_relaxed);
  fork_waiting.store(false, std::memory_order_release);
}

bool TextOf(const void* address, uintptr_t* begin, uintptr_t* end) {
  Dl_info info;
  if (dladdr(address, &info) == 0) return false;
  auto base = reinterpret_cast<uintptr_t>(info.dli_fbase);
  auto* ehdr = reinterpret_cast<const ElfW(Ehdr)*>(base);
  auto* phdr = reinterpret_cast<const ElfW(Phdr)*>(base + ehdr->e_phoff);
  for (int i = 0; i < ehdr->e_phnum; ++i) {
    if (phdr[i].p_type == PT_LOAD && (phdr[i].p_flags & PF_X)) {
      *begin = base + phdr[i].p_vaddr;
      *end = *begin + phdr[i].p_memsz;
      return true;
    }
  }
  return false;
}

bool InUnwinder(uintptr_t pc) {
  return backtrace_fn.load(std::memory_order_acquire) != nullptr && pc >= unwinder_text_begin &&
         pc < unwinder_text_end;
}

}  // namespace poolscope::trace
