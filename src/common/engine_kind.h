// The engines poolscope can run a program on, by the names users give them in
// POOLSCOPE_ENGINE and `poolscope run --engine`. Shared by the library and the CLI so the two
// accept exactly the same names.
#ifndef POOLSCOPE_SRC_COMMON_ENGINE_KIND_H_
#define POOLSCOPE_SRC_COMMON_ENGINE_KIND_H_

#include <cstdint>

namespace poolscope::common {

enum class EngineKind : uint8_t {
  kPool,  // per-thread size-class pools in huge-page segments
  kLibc,  // glibc's allocator, unchanged: profile a program exactly as it normally runs
};

struct EngineName {
  EngineKind kind;
  const char* name;
};

inline constexpr EngineName kEngineNames[] = {
    {EngineKind::kPool, "pool"},
    {EngineKind::kLibc, "libc"},
};

inline constexpr EngineKind kDefaultEngine = EngineKind::kPool;

constexpr const char* NameOf(EngineKind kind) {
  for (const EngineName& e : kEngineNames) {
    if (e.kind == kind) return e.name;
  }
  return "unknown";
}

}  // namespace poolscope::common

#endif  // POOLSCOPE_SRC_COMMON_ENGINE_KIND_H_
