// Streams a trace file into a RecordVisitor, one frame at a time: memory stays at one frame
// whatever the trace's length.
//
// Damage is survived, not fatal: a file cut short is read to its last complete frame and
// flagged truncated; a frame whose checksum or framing is broken is skipped (the reader finds
// the next frame by its magic) and counted. Only a file that is not a poolscope trace at all,
// or one written by a newer major version, is an error.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_TRACE_READER_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_TRACE_READER_H_

#include <cstdint>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "poolscope/trace_format.h"

namespace poolscope::analysis {

struct TraceReadSummary {
  uint16_t major = 0;
  uint16_t minor = 0;
  uint64_t frames = 0;          // decoded whole
  uint64_t corrupt_frames = 0;  // skipped (bad checksum, framing or records)
  uint64_t skipped_bytes = 0;   // bytes passed over while resynchronising
  bool truncated = false;       // the file ends inside a frame
  uint64_t file_bytes = 0;
  std::set<uint64_t> unknown_record_types;  // from a newer minor version; skipped
};

// Reads the whole file at `path` in file order. The error message is one line naming the file
// and what is wrong with it.
absl::StatusOr<TraceReadSummary> ReadTrace(const std::string& path,
                                           trace_format::RecordVisitor& visitor);

// The same records in time order across threads: each thread's frames are in time order, so a
// merge of the threads' streams (one decoded frame each) gives the global order with memory
// bounded by a frame per thread, not by the trace. Two passes: headers to find each thread's
// frames, then the merge. Decoding runs in a thread of its own, a few thousand records ahead
// of `visitor`; `lookahead`, when given, sees every record but allocations, frees and reallocs
// there, as soon as it is decoded (for work that can start early, like symbolizing).
absl::StatusOr<TraceReadSummary> ReadTraceInTimeOrder(
    const std::string& path, trace_format::RecordVisitor& visitor,
    trace_format::RecordVisitor* lookahead = nullptr);

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_TRACE_READER_H_
