#include "common/config.h"

#include <cstring>
#include <iterator>

#include "common/log.h"

namespace poolscope::common {
namespace {

template <typename T>
struct Choice {
  const char* text;
  T value;
};

// Looks `name` up and maps its value through `choices`; anything else keeps `fallback` and
// prints the accepted spellings, so a typo is visible without stopping the program.
template <typename T, size_t N>
T ParseChoice(EnvLookup lookup, const char* name, const Choice<T> (&choices)[N], T fallback,
              const char* fallback_text) {
  const char* value = lookup(name);
  if (value == nullptr) return fallback;
  for (const Choice<T>& c : choices) {
    if (strcmp(value, c.text) == 0) return c.value;
  }
  char accepted[256];
  size_t len = 0;
  for (size_t i = 0; i < N; ++i) {
    len += Format(accepted + len, sizeof(accepted) - len, "%s%s", i ? "|" : "", choices[i].text);
  }
  LogLine("%s='%s' is not valid (accepted: %s); using %s", name, value, accepted, fallback_text);
  return fallback;
}

constexpr Choice<bool> kBooleans[] = {
    {"0", false},  {"1", true},    {"off", false},  {"on", true},
    {"no", false}, {"yes", true},  {"false", false}, {"true", true},
};

constexpr Choice<HugePages> kHugePageModes[] = {
    {"thp", HugePages::kThp},
    {"hugetlb", HugePages::kHugetlb},
    {"off", HugePages::kOff},
};

constexpr Choice<TraceMode> kTraceModes[] = {
    {"off", TraceMode::kOff},
    {"full", TraceMode::kFull},
    {"sampled", TraceMode::kSampled},
};

// A decimal integer in [min, max]; anything else keeps `fallback` and says so.
uint64_t ParseBounded(EnvLookup lookup, const char* name, uint64_t min, uint64_t max,
                      uint64_t fallback) {
  const char* value = lookup(name);
  if (value == nullptr) return fallback;
  uint64_t n = 0;
  const char* c = value;
  for (; *c >= '0' && *c <= '9' && n <= max; ++c) n = n * 10 + static_cast<uint64_t>(*c - '0');
  if (c == value || *c != '\0' || n > max || n < min) {
    LogLine("%s='%s' is not valid (accepted: an integer from %llu to %llu); using %llu", name,
            value, static_cast<unsigned long long>(min), static_cast<unsigned long long>(max),
            static_cast<unsigned long long>(fallback));
    return fallback;
  }
  return n;
}

// A path template that fits; anything else keeps the default and says so. One that ends in
// '/' names a directory (trace/output_path.h).
void ParseOutput(EnvLookup lookup, char (&output)[kMaxOutputTemplate]) {
  const char* value = lookup("POOLSCOPE_OUTPUT");
  if (value == nullptr) return;
  size_t n = strlen(value);
  if (n == 0 || n >= kMaxOutputTemplate) {
    LogLine("POOLSCOPE_OUTPUT='%s' is not valid (accepted: a file or directory path template of "
            "at most %zu characters); using %s",
            value, kMaxOutputTemplate - 1, output);
    return;
  }
  memcpy(output, value, n + 1);
}

bool IsKnown(const char* assignment) {
  for (const char* known : kKnownVariables) {
    size_t n = strlen(known);
    if (strncmp(assignment, known, n) == 0 && assignment[n] == '=') return true;
  }
  return false;
}

void ReportUnknownVariables(char* const* environment) {
  static constexpr char kPrefix[] = "POOLSCOPE_";
  for (char* const* e = environment; e && *e; ++e) {
    if (strncmp(*e, kPrefix, sizeof(kPrefix) - 1) != 0 || IsKnown(*e)) continue;
    const char* eq = strchr(*e, '=');
    int name_len = eq ? static_cast<int>(eq - *e) : static_cast<int>(strlen(*e));
    char name[128];
    Format(name, sizeof(name), "%s", *e);
    if (name_len < static_cast<int>(sizeof(name))) name[name_len] = '\0';
    LogLine("ignoring unknown variable %s (see docs/USAGE.md for the accepted ones)", name);
  }
}

}  // namespace

Config ParseConfig(EnvLookup lookup, char* const* environment) {
  Config config;
  Choice<EngineKind> engines[std::size(kEngineNames)];
  for (size_t i = 0; i < std::size(kEngineNames); ++i) {
    engines[i] = {kEngineNames[i].name, kEngineNames[i].kind};
  }
  config.engine =
      ParseChoice(lookup, "POOLSCOPE_ENGINE", engines, kDefaultEngine, NameOf(kDefaultEngine));
  config.stats = ParseChoice(lookup, "POOLSCOPE_STATS", kBooleans, false, "0");
  config.huge_pages =
      ParseChoice(lookup, "POOLSCOPE_HUGEPAGES", kHugePageModes, HugePages::kThp, "thp");
  config.decay_ms = static_cast<uint32_t>(
      ParseBounded(lookup, "POOLSCOPE_DECAY_MS", 0, kMaxDecayMs, kDefaultDecayMs));
  config.trace = ParseChoice(lookup, "POOLSCOPE_TRACE", kTraceModes, TraceMode::kOff, "off");
  config.sample_bytes = ParseBounded(lookup, "POOLSCOPE_SAMPLE_BYTES", 1, uint64_t{1} << 40,
                                     kDefaultSampleBytes);
  config.stack_depth = static_cast<uint32_t>(
      ParseBounded(lookup, "POOLSCOPE_STACK_DEPTH", 1, kMaxStackDepth, kDefaultStackDepth));
  ParseOutput(lookup, config.output);
  ReportUnknownVariables(environment);
  return config;
}

}  // namespace poolscope::common
