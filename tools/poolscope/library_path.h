// Finding libpoolscope.so for `poolscope run`.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_LIBRARY_PATH_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_LIBRARY_PATH_H_

#include <string>

#include "absl/status/statusor.h"

namespace poolscope::cli {

// The library to preload, as an absolute path: $POOLSCOPE_LIB if set (it must exist), else the
// build-tree library this CLI was built with, else the installed one.
absl::StatusOr<std::string> FindLibrary();

// The version string embedded in the library file at `path`, or an error if it has none.
absl::StatusOr<std::string> LibraryVersion(const std::string& path);

}  // namespace poolscope::cli

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_LIBRARY_PATH_H_
