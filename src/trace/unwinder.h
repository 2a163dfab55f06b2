// Call stacks for the recorder, from libunwind loaded privately.
//
// libunwind.so.8 exports _Unwind_RaiseException, backtrace and friends. Linked normally into a
// preloaded library, those definitions would come before libgcc_s's in the global scope and
// take over the program's C++ exception handling. So it is opened with dlopen(RTLD_LOCAL) and
// reached only through the two functions looked up here. Loading happens in our constructor,
// never inside malloc (dlopen from inside malloc re-enters the loader).
#ifndef POOLSCOPE_SRC_TRACE_UNWINDER_H_
#define POOLSCOPE_SRC_TRACE_UNWINDER_H_

#include <cstdint>

namespace poolscope::trace {

// Loads libunwind and turns on its per-thread cache. False (after one line on stderr) when it
// is not there: stacks are then empty.
bool LoadUnwinder();

// Fills `frames` with return addresses, innermost first, at most `max`; returns the count
// (0 when the unwinder is not loaded).
int CaptureStack(uintptr_t* frames, int max);

// Fork safety. libunwind takes locks of its own (around its memory pools): a child forked
// while another thread held one would wait for it forever at its first unwind. So a fork waits
// (ForkPrepare) until no thread is inside libunwind, threads that come meanwhile wait for the
// fork to end, and both sides go on afterwards. A fork made from inside libunwind (by a signal
// handler) leaves the child without stacks: its copy of libunwind may be mid-operation.
void UnwinderForkPrepare();
void UnwinderForkParent();
void UnwinderForkChild();

// The executable segment [*begin, *end) of the loaded object that contains `address`; false
// when none does.
bool TextOf(const void* address, uintptr_t* begin, uintptr_t* end);

// Whether `pc` is in libunwind's code. Its per-thread caches are the recorder's memory, not
// the program's, yet it unmaps them from a thread-exit destructor, outside the recorder: the
// mapping entry points leave such calls out of the trace.
bool InUnwinder(uintptr_t pc);

}  // namespace poolscope::trace

#endif  // POOLSCOPE_SRC_TRACE_UNWINDER_H_
