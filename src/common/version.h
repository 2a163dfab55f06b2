// How the library's version is found from outside the process: the string below is embedded in
// libpoolscope.so followed by the version, and `poolscope --version` reads it from the file, so
// it reports the library it would actually preload.
#ifndef POOLSCOPE_SRC_COMMON_VERSION_H_
#define POOLSCOPE_SRC_COMMON_VERSION_H_

namespace poolscope {

#define POOLSCOPE_LIBRARY_VERSION_MARKER "poolscope-library-version:"
inline constexpr char kLibraryVersionMarker[] = POOLSCOPE_LIBRARY_VERSION_MARKER;

}  // namespace poolscope

#endif  // POOLSCOPE_SRC_COMMON_VERSION_H_
