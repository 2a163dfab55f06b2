// The libc engine: glibc's own allocator behind poolscope's entry points, so a program can be
// profiled exactly as it normally runs.
//
// glibc's functions are found with dlsym(RTLD_NEXT, ...) from this library, i.e. the next
// definition after ours in lookup order. They are never reached through a name this library
// exports (such as __libc_malloc), which would resolve back to us and recurse.
#ifndef POOLSCOPE_SRC_ENGINE_LIBC_LIBC_ENGINE_H_
#define POOLSCOPE_SRC_ENGINE_LIBC_LIBC_ENGINE_H_

#include "engine/engine.h"

namespace poolscope::engine::libc {

class LibcEngine final : public Engine {
 public:
  static LibcEngine& Instance();

  bool Init(const common::Config& config) override;
  void* Allocate(size_t size) override { return malloc_(size); }
  void* AllocateZeroed(size_t size) override { return calloc_(1, size); }
  void* AllocateAligned(size_t alignment, size_t size) override {
    return memalign_(alignment, size);
  }
  void* Reallocate(void* ptr, size_t size) override { return realloc_(ptr, size); }
  // glibc keeps errno across free since 2.33 (its munmap and trim calls may set it); Init
  // binds mallinfo2, new in 2.33, so this engine never runs on an older one.
  void Free(void* ptr) override { free_(ptr); }
  size_t UsableSize(void* ptr) override { return usable_size_(ptr); }
  // Allocate and Free add nothing to glibc's functions: the interposer may call them itself.
  DirectFunctions Direct() const override { return {malloc_, free_}; }
  struct mallinfo2 Info() override { return mallinfo2_(); }
  int Trim(size_t pad) override { return trim_(pad); }
  int SetOption(int param, int value) override { return mallopt_(param, value); }
  void PrintStats() override { stats_(); }
  int WriteInfoXml(int options, FILE* out) override { return info_(options, out); }
  common::EngineKind kind() const override { return common::EngineKind::kLibc; }

 private:
  void* (*malloc_)(size_t) = nullptr;
  void* (*calloc_)(size_t, size_t) = nullptr;
  void* (*memalign_)(size_t, size_t) = nullptr;
  void* (*realloc_)(void*, size_t) = nullptr;
  void (*free_)(void*) = nullptr;
  size_t (*usable_size_)(void*) = nullptr;
  struct mallinfo2 (*mallinfo2_)() = nullptr;
  int (*trim_)(size_t) = nullptr;
  int (*mallopt_)(int, int) = nullptr;
  void (*stats_)() = nullptr;
  int (*info_)(int, FILE*) = nullptr;
};

}  // namespace poolscope::engine::libc

#endif  // POOLSCOPE_SRC_ENGINE_LIBC_LIBC_ENGINE_H_
