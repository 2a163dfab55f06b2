// The library's configuration: POOLSCOPE_* environment variables, parsed once at start-up.
//
// A malformed value never aborts the program: it is reported with one line on stderr naming the
// variable and the accepted values, and the default is used instead. Variables with the
// POOLSCOPE_ prefix that nobody reads are reported too, since they are almost always typos.
// Parsing reads the environment only through the given lookup and never allocates, so it is
// safe to run from inside the first malloc call.
#ifndef POOLSCOPE_SRC_COMMON_CONFIG_H_
#define POOLSCOPE_SRC_COMMON_CONFIG_H_

#include "common/engine_kind.h"

namespace poolscope::common {

struct Config {
  EngineKind engine = kDefaultEngine;
  // Count every interposed call and print the counts at exit (POOLSCOPE_STATS).
  bool stats = false;
};

// Every variable name the library or the CLI reads.
inline constexpr const char* kKnownVariables[] = {
    "POOLSCOPE_ENGINE",
    "POOLSCOPE_STATS",
    "POOLSCOPE_LIB",  // read by the CLI only: where libpoolscope.so is
};

using EnvLookup = const char* (*)(const char* name);

// Reads the configuration. `environment` (may be null) is scanned for unknown POOLSCOPE_ names.
Config ParseConfig(EnvLookup lookup, char* const* environment);

}  // namespace poolscope::common

#endif  // POOLSCOPE_SRC_COMMON_CONFIG_H_
