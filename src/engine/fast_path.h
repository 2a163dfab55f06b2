// The engines' inline fast paths: the one place the interposition layer reaches engine code
// without the Engine interface, so the commonest calls (a small malloc or new, a free or
// delete of a pooled block) cost no virtual call. Only the pool engine has them; they serve
// nothing until Engine::EnableFastPath, so with any other engine (or before the engine is
// ready, or while calls are counted or recorded) every call takes the generic path.
#ifndef POOLSCOPE_SRC_ENGINE_FAST_PATH_H_
#define POOLSCOPE_SRC_ENGINE_FAST_PATH_H_

#include <cstddef>

#include "engine/pool/fast_path.h"

namespace poolscope::engine {

// A block of `size` bytes (16-byte aligned), or null: then the generic path decides.
inline void* TryAllocateFast(size_t size) { return pool::TryAllocate(size); }

// True when `ptr` was freed; false: the generic path must free it.
inline bool TryFreeFast(void* ptr) { return pool::TryFree(ptr); }

// The same, for the generic path once it has counted and recorded the call: they serve
// whenever the pool engine is ready, counted or recorded or not.
inline void* TryAllocateInline(size_t size) { return pool::TryAllocate(size, pool::inline_path); }
inline bool TryFreeInline(void* ptr) { return pool::TryFree(ptr, pool::inline_path); }

}  // namespace poolscope::engine

#endif  // POOLSCOPE_SRC_ENGINE_FAST_PATH_H_
