#include "trace/output_path.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <cstring>
#include <initializer_list>

#include "common/log.h"

namespace poolscope::trace {

bool ExpandOutputPath(const char* pattern, const OutputFacts& facts, char* out, size_t capacity) {
  size_t n = 0;
  auto append = [&](const char* s) {
    size_t len = strlen(s);
    if (n + len >= capacity) return false;
    memcpy(out + n, s, len);
    n += len;
    return true;
  };
  for (const char* c = pattern; *c; ++c) {
    char piece[32] = {*c, 0};
    const char* text = piece;
    if (*c == '%' && c[1] != '\0') {
      switch (*++c) {
        case 'p':
          common::Format(piece, sizeof(piece), "%llu", static_cast<unsigned long long>(facts.pid));
          break;
        case 'r':
          text = facts.rank != nullptr ? facts.rank : "norank";
          break;
        case 'h':
          text = facts.host;
          break;
        case 't':
          common::Format(piece, sizeof(piece), "%llu",
                         static_cast<unsigned long long>(facts.start_seconds));
          break;
        case '%':
          text = "%";
          break;
        default:
          common::Format(piece, sizeof(piece), "%%%c", *c);
          break;
      }
    }
    if (!append(text)) return false;
  }
  out[n] = '\0';
  struct stat st;
  bool directory = n > 0 && (out[n - 1] == '/' || (stat(out, &st) == 0 && S_ISDIR(st.st_mode)));
  if (!directory) return true;
  char name[64];
  common::Format(name, sizeof(name), "%spoolscope.%llu.trace", out[n - 1] == '/' ? "" : "/",
                 static_cast<unsigned long long>(facts.pid));
  if (!append(name)) return false;
  out[n] = '\0';
  return true;
}

const char* MpiRankFromEnvironment() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"}) {
    const char* value = getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return nullptr;
}

}  // namespace poolscope::trace
