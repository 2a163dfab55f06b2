#include "library_path.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cli_config.h"
#include "common/version.h"

namespace poolscope::cli {
namespace {

absl::StatusOr<std::string> Absolute(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr || access(resolved, R_OK) != 0) {
    return absl::NotFoundError(path);
  }
  return std::string(resolved);
}

}  // namespace

absl::StatusOr<std::string> FindLibrary() {
  if (const char* env = getenv("POOLSCOPE_LIB"); env != nullptr && *env != '\0') {
    auto lib = Absolute(env);
    if (!lib.ok()) {
      return absl::NotFoundError(absl::StrCat("POOLSCOPE_LIB=", env, " does not exist"));
    }
    return lib;
  }
  for (const char* candidate : {POOLSCOPE_BUILD_LIB, POOLSCOPE_INSTALL_LIB}) {
    if (auto lib = Absolute(candidate); lib.ok()) return lib;
  }
  return absl::NotFoundError(absl::StrCat("libpoolscope.so not found (looked in ",
                                          POOLSCOPE_BUILD_LIB, " and ", POOLSCOPE_INSTALL_LIB,
                                          "); set POOLSCOPE_LIB to its path"));
}

absl::StatusOr<std::string> LibraryVersion(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string marker = kLibraryVersionMarker;
  size_t at = bytes.find(marker);
  if (at == std::string::npos) {
    return absl::NotFoundError(absl::StrCat(path, " carries no poolscope version"));
  }
  size_t start = at + marker.size();
  return bytes.substr(start, bytes.find('\0', start) - start);
}

}  // namespace poolscope::cli
