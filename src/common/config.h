// The library's configuration: POOLSCOPE_* environment variables, parsed once at start-up.
//
// A malformed value never aborts the program: it is reported with one line on stderr naming the
// variable and the accepted values, and the default is used instead. Variables with the
// POOLSCOPE_ prefix that nobody reads are reported too, since they are almost always typos.
// Parsing reads the environment only through the given lookup and never allocates, so it is
// safe to run from inside the first malloc call.
#ifndef POOLSCOPE_SRC_COMMON_CONFIG_H_
#define POOLSCOPE_SRC_COMMON_CONFIG_H_

#include <cstddef>
#include <cstdint>

#include "common/engine_kind.h"

namespace poolscope::common {

// How the pool engine backs its memory (POOLSCOPE_HUGEPAGES).
enum class HugePages : uint8_t {
  kThp,      // transparent huge pages, requested with madvise(MADV_HUGEPAGE)
  kHugetlb,  // reserved huge pages (MAP_HUGETLB), falling back to kThp when none are reserved
  kOff,      // 4 KiB pages only
};

// What the recorder writes (POOLSCOPE_TRACE).
enum class TraceMode : uint8_t {
  kOff,
  kFull,     // every call
  kSampled,  // allocations chosen by exponential sampling on bytes, and their frees
};

// Ten seconds, as jemalloc's dirty decay: a program that works in phases reuses its memory
// instead of refaulting it (measured: 1 s cost the mixed-lifetimes benchmark 40 % in page faults).
inline constexpr uint32_t kDefaultDecayMs = 10000;
inline constexpr uint64_t kDefaultSampleBytes = 512 * 1024;
inline constexpr uint32_t kDefaultStackDepth = 64;
inline constexpr uint32_t kMaxStackDepth = 256;
inline constexpr size_t kMaxOutputTemplate = 512;
inline constexpr uint32_t kMaxDecayMs = 3600 * 1000;

struct Config {
  EngineKind engine = kDefaultEngine;
  // Count every interposed call and print the counts at exit (POOLSCOPE_STATS).
  bool stats = false;
  HugePages huge_pages = HugePages::kThp;
  // How long freed memory is kept before it goes back to the OS (POOLSCOPE_DECAY_MS).
  uint32_t decay_ms = kDefaultDecayMs;
  TraceMode trace = TraceMode::kOff;
  uint64_t sample_bytes = kDefaultSampleBytes;  // POOLSCOPE_SAMPLE_BYTES, mean bytes per sample
  uint32_t stack_depth = kDefaultStackDepth;    // POOLSCOPE_STACK_DEPTH, frames kept per stack
  // POOLSCOPE_OUTPUT: where traces go, with %p %r %h %t expanded (see trace/output_path.h).
  char output[kMaxOutputTemplate] = "poolscope.%p.trace";
};

// Every variable name the library or the CLI reads.
inline constexpr const char* kKnownVariables[] = {
    "POOLSCOPE_ENGINE",
    "POOLSCOPE_STATS",
    "POOLSCOPE_HUGEPAGES",
    "POOLSCOPE_DECAY_MS",
    "POOLSCOPE_TRACE",
    "POOLSCOPE_SAMPLE_BYTES",
    "POOLSCOPE_SAMPLE_SEED",  // read by the recorder: reproducible sampling, for tests
    "POOLSCOPE_STACK_DEPTH",
    "POOLSCOPE_OUTPUT",
    "POOLSCOPE_LIB",  // read by the CLI only: where libpoolscope.so is
};

using EnvLookup = const char* (*)(const char* name);

// Reads the configuration. `environment` (may be null) is scanned for unknown POOLSCOPE_ names.
Config ParseConfig(EnvLookup lookup, char* const* environment);

}  // namespace poolscope::common

#endif  // POOLSCOPE_SRC_COMMON_CONFIG_H_
