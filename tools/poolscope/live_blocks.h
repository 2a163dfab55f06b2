// The analysis's live blocks, by the key their events carry: a block key (thread, n) for the
// n-th allocation a thread recorded, or an address (trace_format.h).
//
// A thread numbers its blocks in allocation order, and most blocks die young, so each
// thread's live blocks are nearly a contiguous run of numbers: each thread keeps a window, a
// ring indexed by block number from its oldest live block to its newest. A lookup is then an
// index, not a hash probe, and a program's churn walks the ring in order (the hash table it
// replaces took a cache miss on most frees). A window holds at least half live slots: when it
// would pass its capacity, it doubles if it is more than half full, and otherwise its oldest
// live blocks move to a hash map, where addresses and blocks out of order live too. Memory
// stays proportional to the live blocks.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_LIVE_BLOCKS_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_LIVE_BLOCKS_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "poolscope/trace_format.h"

namespace poolscope::analysis {

template <typename Value>
class LiveBlocks {
 public:
  // The value under `key`, made from `value` if there was none; and whether it was made.
  std::pair<Value*, bool> TryEmplace(uint64_t key, const Value& value) {
    if (Window* w = WindowFor(key)) {
      uint64_t n = trace_format::BlockSeq(key);
      if (w->live == 0) w->base = w->end = n;
      if (n >= w->base) {
        if (n >= w->end) {
          w->Reach(n, others_, trace_format::BlockThread(key));
          w->end = n + 1;
        }
        Slot& s = w->At(n);
        if (s.live) return {&s.value, false};
        s = Slot{value, true};
        ++w->live;
        ++size_;
        return {&s.value, true};
      }
    }
    auto [it, inserted] = others_.try_emplace(key, value);
    if (inserted) ++size_;
    return {&it->second, inserted};
  }

  // The value under `key`, or null.
  Value* Find(uint64_t key) {
    if (Slot* s = LiveSlot(key)) return &s->value;
    auto it = others_.find(key);
    return it == others_.end() ? nullptr : &it->second;
  }

  // Removes `key`, which Find found.
  void Erase(uint64_t key) {
    --size_;
    if (Slot* s = LiveSlot(key)) {
      s->live = false;
      --last_window_->live;
      if (trace_format::BlockSeq(key) == last_window_->base) last_window_->SkipDead();
      return;
    }
    others_.erase(key);
  }

  size_t size() const { return size_; }

  // `f(value)` for every live block, in no particular order.
  template <typename F>
  void ForEach(F f) const {
    for (const auto& [thread, w] : windows_) {
      for (uint64_t n = w.base; n < w.end; ++n) {
        const Slot& s = w.ring[n & (w.ring.size() - 1)];
        if (s.live) f(s.value);
      }
    }
    for (const auto& [key, value] : others_) f(value);
  }

 private:
  struct Slot {
    Value value{};
    bool live = false;
  };
  using Others = absl::flat_hash_map<uint64_t, Value>;

  // Blocks [base, end) of one thread; the ring's size is a power of two above end - base.
  struct Window {
    std::vector<Slot> ring = std::vector<Slot>(64);
    uint64_t base = 0;
    uint64_t end = 0;
    size_t live = 0;

    Slot& At(uint64_t n) { return ring[n & (ring.size() - 1)]; }

    void SkipDead() {
      while (base < end && !At(base).live) ++base;
      if (base == end) base = end = 0;  // empty: the next block starts a new window
    }

    // Makes room for block `n` >= end: doubles the ring while the window is more than half
    // live, else moves its oldest live blocks to `others`.
    void Reach(uint64_t n, Others& others, uint32_t thread) {
      while (n - base >= ring.size()) {
        if (live * 2 > ring.size()) {
          Grow();
          continue;
        }
        uint64_t new_base = n - ring.size() + 1;
        for (; base < new_base && base < end; ++base) {
          Slot& s = At(base);
          if (!s.live) continue;
          others.try_emplace(trace_format::BlockKey(thread, base), s.value);
          s.live = false;
          --live;
        }
        if (live == 0) {
          base = n;
          return;
        }
        SkipDead();
      }
    }

    void Grow() {
      std::vector<Slot> bigger(ring.size() * 2);
      for (uint64_t i = base; i < end; ++i) bigger[i & (bigger.size() - 1)] = At(i);
      ring.swap(bigger);
    }
  };

  // The live slot of `key` in its thread's window; null if it is elsewhere or nowhere (a
  // damaged trace may number blocks out of order: those are in others_).
  Slot* LiveSlot(uint64_t key) {
    Window* w = WindowFor(key);
    if (w == nullptr) return nullptr;
    uint64_t n = trace_format::BlockSeq(key);
    if (n < w->base || n >= w->end) return nullptr;
    Slot& s = w->At(n);
    return s.live ? &s : nullptr;
  }

  // The window of a block key's thread; null for an address.
  Window* WindowFor(uint64_t key) {
    if (!trace_format::IsBlockKey(key)) return nullptr;
    uint32_t thread = trace_format::BlockThread(key);
    if (last_window_ == nullptr || thread != last_thread_) {
      last_window_ = &windows_[thread];
      last_thread_ = thread;
    }
    return last_window_;
  }

  // A new thread's window may move the others, but last_window_ is looked up again whenever
  // the thread changes.
  absl::flat_hash_map<uint32_t, Window> windows_;
  Window* last_window_ = nullptr;
  uint32_t last_thread_ = 0;
  Others others_;
  size_t size_ = 0;
};

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_LIVE_BLOCKS_H_
