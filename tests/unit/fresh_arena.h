// Arenas for tests that need one of their own (not the engine's).
#ifndef POOLSCOPE_TESTS_UNIT_FRESH_ARENA_H_
#define POOLSCOPE_TESTS_UNIT_FRESH_ARENA_H_

#include <deque>

#include "engine/pool/arena.h"

namespace poolscope::engine::pool {

// A new arena for every call: an arena is initialised once in its life, so a test run again
// (--gtest_repeat) must not reuse the last one. They are kept, with their reservations, until
// the test binary exits: an arena has no way to give its range back.
inline Arena& FreshArena() {
  static std::deque<Arena> arenas;
  return arenas.emplace_back();
}

}  // namespace poolscope::engine::pool

#endif  // POOLSCOPE_TESTS_UNIT_FRESH_ARENA_H_
