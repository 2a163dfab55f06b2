// A per-thread cache of whole call stacks, so most events skip unwinding and interning.
//
// The key is the stack pointer at the recorder's entry. A hit is verified against the stack
// itself: for each cached frame, the word where its return address was found must still hold
// it. Frame sizes are fixed for a given return address (functions with alloca move the frames
// inside them, and so the stack pointer of the key), so a chain of verified slots starting
// at the same stack pointer is the same chain of calls. The cache never guesses: an entry
// whose slots cannot all be located is not kept, and a stack pointer outside the thread's
// known stack (sigaltstack, coroutines on stacks of their own) is never looked up.
#ifndef POOLSCOPE_SRC_TRACE_STACK_CACHE_H_
#define POOLSCOPE_SRC_TRACE_STACK_CACHE_H_

#include <cstdint>
#include <cstring>

namespace poolscope::trace {

class StackCache {
 public:
  // Deeper stacks are not cached: verifying them costs as much as unwinding.
  static constexpr int kMaxDepth = 48;
  // How far above the key a stack's slots may be searched for (only when filling an entry).
  static constexpr uintptr_t kMaxSpan = uintptr_t{256} << 10;

  // The thread's stack lies in [low, high). Forgets every entry.
  void Reset(uintptr_t low, uintptr_t high) {
    memset(static_cast<void*>(entries_), 0, sizeof(entries_));
    low_ = low;
    high_ = high;
  }

  // The stack id remembered for a call whose recorder frame is at `sp`, or 0.
  uint64_t Find(uintptr_t sp, uint32_t generation) const {
    if (sp - low_ >= high_ - low_) return 0;
    const Entry* set = entries_[SetOf(sp)];
    for (int way = 0; way < kWays; ++way) {
      const Entry& e = set[way];
      if (e.sp != sp || e.generation != generation) continue;
      int i = 0;
      while (i < e.depth && Word(e.slot[i]) == e.value[i]) ++i;
      if (i == e.depth) return e.stack;
    }
    return 0;
  }

  // Remembers `stack` (frames innermost first, as recorded) for `sp`, when every frame's
  // return address can be found on the stack above sp, in order. The entry it replaces is
  // emptied first, so a search that fails leaves nothing half filled.
  void Remember(uintptr_t sp, const uintptr_t* frames, int depth, uint64_t stack,
                uint32_t generation) {
    if (stack == 0 || depth == 0 || depth > kMaxDepth || sp - low_ >= high_ - low_) return;
    uintptr_t limit = high_ - sp > kMaxSpan ? sp + kMaxSpan : high_;
    int set = SetOf(sp);
    Entry& e = entries_[set][next_way_[set]++ % kWays];
    e.sp = 0;  // no key is 0: found by no lookup
    uintptr_t at = (sp + 7) & ~uintptr_t{7};
    for (int i = 0; i < depth; ++i) {
      while (at + sizeof(uintptr_t) <= limit && Word(at) != frames[i]) at += sizeof(uintptr_t);
      if (at + sizeof(uintptr_t) > limit) return;
      e.slot[i] = at;
      e.value[i] = frames[i];
      at += sizeof(uintptr_t);
    }
    e.stack = stack;
    e.generation = generation;
    e.depth = depth;
    e.sp = sp;
  }

 private:
  static constexpr int kSets = 16;
  static constexpr int kWays = 4;

  struct Entry {
    uintptr_t sp = 0;
    uint64_t stack = 0;
    uint32_t generation = 0;
    int depth = 0;
    uintptr_t slot[kMaxDepth];
    uintptr_t value[kMaxDepth];
  };

  static int SetOf(uintptr_t sp) { return static_cast<int>((sp >> 4) * 0x9e3779b97f4a7c15ULL >> 60); }

  // A word of this thread's own stack, which may belong to no live object.
  static uintptr_t Word(uintptr_t address) {
    uintptr_t v;
    memcpy(&v, reinterpret_cast<const void*>(address), sizeof(v));
    return v;
  }

  Entry entries_[kSets][kWays];
  uint8_t next_way_[kSets] = {};
  uintptr_t low_ = 0;
  uintptr_t high_ = 0;
};

}  // namespace poolscope::trace

#endif  // POOLSCOPE_SRC_TRACE_STACK_CACHE_H_
