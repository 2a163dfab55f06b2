// Expands POOLSCOPE_OUTPUT templates: %p pid, %r MPI rank (OMPI_COMM_WORLD_RANK, PMI_RANK or
// SLURM_PROCID; "norank" outside MPI), %h host name, %t start time (seconds since the epoch),
// %% a percent sign. A template that names a directory (it ends in '/', or the expanded path
// is an existing directory) puts the default file name, poolscope.PID.trace, in it: a user
// who writes `-o traces` next to a `traces` directory means "in there". Never allocates.
#ifndef POOLSCOPE_SRC_TRACE_OUTPUT_PATH_H_
#define POOLSCOPE_SRC_TRACE_OUTPUT_PATH_H_

#include <cstddef>
#include <cstdint>

namespace poolscope::trace {

struct OutputFacts {
  uint64_t pid;
  const char* rank;  // null outside MPI
  const char* host;
  uint64_t start_seconds;
};

// False when the result does not fit in `capacity` bytes.
bool ExpandOutputPath(const char* pattern, const OutputFacts& facts, char* out, size_t capacity);

// The MPI rank from the launcher's environment, or null.
const char* MpiRankFromEnvironment();

}  // namespace poolscope::trace

#endif  // POOLSCOPE_SRC_TRACE_OUTPUT_PATH_H_
