#include "interpose/bootstrap.h"

namespace poolscope::interpose::bootstrap {

// In .bss: it costs address space only, and only the pages actually used become resident.
alignas(kMaxAlignment) char arena_memory[kArenaBytes];
constinit common::BumpArena arena(arena_memory, kArenaBytes);

}  // namespace poolscope::interpose::bootstrap
