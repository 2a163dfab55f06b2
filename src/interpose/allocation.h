// The C allocation semantics shared by every entry point, C and C++ alike: this machine's
// glibc 2.36 behaviour for sizes, alignments, overflow, errno and realloc, on top of whichever
// engine is running, with the bootstrap arena behind it until the engine is ready.
#ifndef POOLSCOPE_SRC_INTERPOSE_ALLOCATION_H_
#define POOLSCOPE_SRC_INTERPOSE_ALLOCATION_H_

#include <errno.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/hidden.h"
#include "engine/fast_path.h"
#include "interpose/bootstrap.h"
#include "interpose/runtime.h"
#include "poolscope/trace_format.h"
#include "trace/recorder.h"

namespace poolscope::interpose {

inline constexpr size_t kMaxRequest = PTRDIFF_MAX;  // glibc refuses anything larger
inline constexpr size_t kPageSize = 4096;
// glibc's MALLOC_ALIGNMENT on x86-64: every block is at least this aligned.
inline constexpr size_t kBaseAlignment = 16;

[[gnu::cold]] inline void* FailedAllocation() {
  CountCall(Call::kFailed);
  errno = ENOMEM;
  return nullptr;
}

[[gnu::cold]] inline void* BootstrapAllocate(size_t size, size_t alignment) {
  CountCall(Call::kBootstrap);
  void* p = bootstrap::Allocate(size, alignment);
  return p != nullptr ? p : FailedAllocation();
}

inline void* Allocate(size_t size) {
  if (size > kMaxRequest) [[unlikely]] return FailedAllocation();
  engine::Engine* e = ReadyEngineOrNull();
  if (e == nullptr) [[unlikely]] return BootstrapAllocate(size, kBaseAlignment);
  void* p = e->Allocate(size);
  if (p == nullptr) [[unlikely]] return FailedAllocation();
  return p;
}

inline void* AllocateZeroed(size_t count, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(count, size, &bytes) || bytes > kMaxRequest) [[unlikely]] {
    return FailedAllocation();
  }
  engine::Engine* e = ReadyEngineOrNull();
  if (e == nullptr) [[unlikely]] return BootstrapAllocate(bytes, kBaseAlignment);
  void* p = e->AllocateZeroed(bytes);
  if (p == nullptr) [[unlikely]] return FailedAllocation();
  return p;
}

// memalign semantics: alignments up to 16 are plain allocations, an alignment that is not a
// power of two is rounded up to one, and one too large to round is EINVAL.
inline void* AllocateAligned(size_t alignment, size_t size) {
  if (alignment <= kBaseAlignment) return Allocate(size);
  if (alignment > SIZE_MAX / 2 + 1) [[unlikely]] {
    errno = EINVAL;
    return nullptr;
  }
  if ((alignment & (alignment - 1)) != 0) alignment = size_t{1} << (64 - __builtin_clzl(alignment));
  if (size > kMaxRequest) [[unlikely]] return FailedAllocation();
  engine::Engine* e = ReadyEngineOrNull();
  if (e == nullptr) [[unlikely]] return BootstrapAllocate(size, alignment);
  void* p = e->AllocateAligned(alignment, size);
  if (p == nullptr) [[unlikely]] return FailedAllocation();
  return p;
}

// free() never changes errno: engines keep it on their paths that make system calls, so the
// common path pays nothing for it.
inline void Release(void* ptr) {
  if (ptr == nullptr || bootstrap::Owns(ptr)) return;  // bootstrap blocks are never reused
  engine::Engine* e = ReadyEngineOrNull();
  if (e == nullptr) [[unlikely]] return;  // cannot be ours yet: leak rather than corrupt
  e->Free(ptr);
}

inline size_t UsableSize(void* ptr) {
  if (ptr == nullptr) return 0;
  if (bootstrap::Owns(ptr)) return bootstrap::SizeOf(ptr);
  engine::Engine* e = ReadyEngineOrNull();
  return e != nullptr ? e->UsableSize(ptr) : 0;
}

// A bootstrap block moves to the engine (or a new bootstrap block) by copying its contents.
[[gnu::cold]] inline void* ReallocateBootstrapBlock(void* ptr, size_t size) {
  void* moved = Allocate(size);
  if (moved != nullptr) {
    size_t old_size = bootstrap::SizeOf(ptr);
    memcpy(moved, ptr, old_size < size ? old_size : size);
  }
  return moved;
}

// glibc 2.36: realloc(NULL, n) is malloc(n); realloc(p, 0) frees p and returns NULL; on
// failure p is left untouched and errno is ENOMEM.
inline void* Reallocate(void* ptr, size_t size) {
  if (ptr == nullptr) return Allocate(size);
  if (size == 0) {
    Release(ptr);
    return nullptr;
  }
  if (size > kMaxRequest) [[unlikely]] return FailedAllocation();
  if (bootstrap::Owns(ptr)) [[unlikely]] return ReallocateBootstrapBlock(ptr, size);
  engine::Engine* e = ReadyEngineOrNull();
  if (e == nullptr) [[unlikely]] return FailedAllocation();
  void* p = e->Reallocate(ptr, size);
  if (p == nullptr) [[unlikely]] return FailedAllocation();
  return p;
}

// The recorder's view of the calls above: each entry point passes its result through these.
using trace_format::AllocKind;

// A sampled block may move (Engine::MoveSampledBlock): the caller hands out what this returns.
// `alignment`: what the caller asked for.
inline void* Traced(void* p, size_t size, AllocKind kind, size_t alignment = kBaseAlignment) {
  if (trace::recording && p != nullptr) [[unlikely]] {
    if (!trace::SkipUnsampledAllocation(size)) return trace::RecordAlloc(p, size, kind, alignment);
  }
  return p;
}

[[gnu::cold]] inline void ReleaseSampled(void* ptr) {
  if (engine::Engine* e = ReadyEngineOrNull()) e->FreeSampledBlock(ptr);
}

// Recorded before the block is released, so no other thread can have reused the address yet.
inline void TracedRelease(void* ptr) {
  if (trace::recording && ptr != nullptr) [[unlikely]] {
    if (!trace::SkipUnsampledFree(ptr) && trace::RecordFree(ptr)) return ReleaseSampled(ptr);
  }
  if (!engine::TryFreeInline(ptr)) Release(ptr);
}

// malloc and operator new, free and operator delete: the engine's inline fast path when it
// serves the call, which it does only while calls are neither counted nor recorded in full (see
// engine/fast_path.h); the counted and traced generic path otherwise.
// The generic paths are out of line so that the fast paths need no stack frame.
[[gnu::noinline]] inline void* CountedTracedAllocateGeneric(size_t size, Call call,
                                                            AllocKind kind) {
  CountCall(call);
  void* p = engine::TryAllocateInline(size);
  return Traced(p != nullptr ? p : Allocate(size), size, kind);
}

[[gnu::noinline]] inline void CountedTracedReleaseGeneric(void* ptr, Call call) {
  CountCall(call);
  TracedRelease(ptr);
}

// Where malloc, operator new, free and operator delete go when the inline fast path does not
// serve them:
// the generic paths, until start-up finds that no call needs counting or recording in full
// and the engine has DirectFunctions (the libc engine: glibc's malloc and free). Then those,
// reached by a jump with no frame of ours in between; in sampled mode, functions that first
// send the sampled calls to the generic path. Written once at start-up and read relaxed (a
// jump through memory): old or new, each value serves every call exactly. The new routes
// return null for the generic path (their callers own the new-handler loop), also when the
// engine's malloc fails.
struct DirectPath {
  std::atomic<void* (*)(size_t)> malloc;
  std::atomic<void (*)(void*)> free;
  std::atomic<void (*)(void*)> delete_;
  std::atomic<void* (*)(size_t)> new_;
  std::atomic<void* (*)(size_t)> new_array;
};
extern DirectPath direct_path POOLSCOPE_HIDDEN;

// Called once, when the entry points' fast paths are enabled (Engine::EnableFastPath).
// `sampled`: allocations are being sampled.
void EnableDirectPath(const engine::Engine::DirectFunctions& functions, bool sampled);

inline void* CountedTracedAllocate(size_t size) {
  if (void* p = engine::TryAllocateFast(size)) [[likely]] return p;
  return direct_path.malloc.load(std::memory_order_relaxed)(size);
}

// Bootstrap blocks stay on the generic path, which ignores them: no engine may see them.
inline void CountedTracedRelease(void* ptr, Call call) {
  if (engine::TryFreeFast(ptr)) [[likely]] return;
  if (bootstrap::Owns(ptr)) [[unlikely]] return CountedTracedReleaseGeneric(ptr, call);
  (call == Call::kDelete ? direct_path.delete_ : direct_path.free)
      .load(std::memory_order_relaxed)(ptr);
}

inline void* TracedReallocate(void* ptr, size_t size) {
  if (!trace::recording) [[likely]] return Reallocate(ptr, size);
  if (ptr == nullptr) return Traced(Reallocate(nullptr, size), size, AllocKind::kRealloc);
  trace::ReallocTicket ticket = trace::BeginRealloc(ptr);
  return trace::EndRealloc(ptr, ticket, Reallocate(ptr, size), size);
}

}  // namespace poolscope::interpose

#endif  // POOLSCOPE_SRC_INTERPOSE_ALLOCATION_H_
