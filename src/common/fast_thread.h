// The two per-thread words the allocation fast path reads. They sit in one object so that one
// thread-pointer offset (one load from the GOT under initial-exec TLS) reaches both: a second
// thread-local variable would cost the fast path a second load.
#ifndef POOLSCOPE_SRC_COMMON_FAST_THREAD_H_
#define POOLSCOPE_SRC_COMMON_FAST_THREAD_H_

#include <cstddef>
#include <cstdint>

#include "common/hidden.h"

namespace poolscope {

namespace engine::pool {
class Heap;
}

struct FastThreadWords {
  // The pool engine's heap of this thread (engine/pool/heap.h).
  engine::pool::Heap* heap;
  // Bytes this thread may still allocate before its next sample point (trace/sampler.h). The
  // fast path charges every allocation it serves; when the charge leaves nothing, it hands the
  // call to the generic path instead, which samples. While allocations are not sampled the
  // word is parked at kNeverSample, which no program allocates its way through.
  int64_t sample_countdown;
};

inline constexpr int64_t kNeverSample = INT64_MAX;

// Defined with the pool engine's heaps (engine/pool/heap.cc), whose sentinel it starts at.
extern __thread FastThreadWords fast_thread __attribute__((tls_model("initial-exec")))
POOLSCOPE_HIDDEN;

// Charges an allocation of `size` bytes to this thread's countdown; false when the charge ran
// it out (the caller then calls SampleCountdownRanOut and takes its generic path).
// GCC loads, subtracts, stores and tests a thread-local word: one subtraction in memory and a
// jump on its flags are three instructions fewer. (The word as an output operand instead of
// the memory clobber made GCC 12 drop the call after `ran_out`.)
[[gnu::always_inline]] inline bool ChargeSampleCountdown(size_t size) {
  asm goto("subq %1, %0\n\tjle %l[ran_out]"
           :
           : "m"(fast_thread.sample_countdown), "r"(size)
           : "cc", "memory"
           : ran_out);
  return true;
ran_out:
  return false;
}

// For the fast path whose charge of `size` ran the countdown out: gives the charge back for the
// generic path to make (or parks the countdown when nothing is sampled).
// Defined by the recorder (trace/recorder.cc), which knows whether it samples.
[[gnu::cold, gnu::noinline]] void SampleCountdownRanOut(size_t size) POOLSCOPE_HIDDEN;

}  // namespace poolscope

#endif  // POOLSCOPE_SRC_COMMON_FAST_THREAD_H_
