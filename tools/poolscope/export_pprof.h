// `poolscope export --format pprof`: a gzipped profile.proto (github.com/google/pprof), what
// `go tool pprof`, pprof.me, Pyroscope and the pprof-format decoders read. One sample per site
// with four values, as Go's heap profiles have them:
//   alloc_objects/count, alloc_space/bytes   everything the site allocated
//   inuse_objects/count, inuse_space/bytes   what it still held at the end (its leaks)
// Each distinct return address is a Location in the Mapping of its module; each distinct name
// the FrameNamer gives is a Function. Sample stacks are innermost first, as pprof wants them.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_PPROF_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_PPROF_H_

#include <string>

#include "report_text.h"
#include "summary.h"

namespace poolscope::analysis {

// The profile's protobuf wire encoding, uncompressed.
std::string EncodePprof(const TraceAnalysis& analysis, const FrameNamer& name_frame);

// The same, gzipped: the file pprof tools take.
std::string ExportPprof(const TraceAnalysis& analysis, const FrameNamer& name_frame);

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_PPROF_H_
