// Every replaceable C++ operator new and delete, one definition per form.
//
// Throwing new runs the new-handler loop and throws std::bad_alloc, nothrow new returns null
// (also when a handler throws), both through libstdc++ found at that moment (cxx_runtime.h).
// Exceptions from a handler or the throw pass through these frames, built without exception
// support: they have no cleanups to run, and the unwind tables are always emitted.
// The delete forms ignore their size and alignment hints: a program that passes a wrong one
// (common with mismatched new/delete) must not corrupt the heap.
#include <cstddef>
#include <new>

#include "interpose/allocation.h"
#include "interpose/cxx_runtime.h"

namespace poolscope::interpose {
namespace {

// The alignment of the forms without an align_val_t: the fast path serves them.
constexpr size_t kNoAlignment = 0;

inline void* AllocateForNew(size_t size, size_t alignment) {
  return alignment <= kBaseAlignment ? Allocate(size) : AllocateAligned(alignment, size);
}

[[gnu::noinline]] void* NewOrThrowGeneric(size_t size, size_t alignment, AllocKind kind) {
  CountCall(Call::kNew);
  for (;;) {
    if (void* p = AllocateForNew(size, alignment)) [[likely]] return Traced(p, size, kind, alignment);
    std::new_handler handler = CurrentNewHandler();
    if (handler == nullptr) ThrowBadAlloc();
    handler();
  }
}

[[gnu::noinline]] void* NewOrNullGeneric(size_t size, size_t alignment,
                                         AllocKind kind) noexcept {
  CountCall(Call::kNew);
  if (void* p = AllocateForNew(size, alignment)) [[likely]] return Traced(p, size, kind, alignment);
  if (CurrentNewHandler() == nullptr) return nullptr;
  return RuntimeNothrowNew(size, alignment, kind == AllocKind::kNewArray);
}

// The engine's fast path, then its direct route (allocation.h), for the forms without an
// alignment; null sends the call to the generic path.
inline void* TryNewFast(size_t size, AllocKind kind) {
  if (void* p = engine::TryAllocateFast(size)) [[likely]] return p;
  auto& route = kind == AllocKind::kNewArray ? direct_path.new_array : direct_path.new_;
  return route.load(std::memory_order_relaxed)(size);
}

// The generic paths are out of line so that the fast path needs no stack frame.
inline void* NewOrThrow(size_t size, size_t alignment, AllocKind kind) {
  if (alignment == kNoAlignment) {
    if (void* p = TryNewFast(size, kind)) [[likely]] return p;
  }
  return NewOrThrowGeneric(size, alignment, kind);
}

inline void* NewOrNull(size_t size, size_t alignment, AllocKind kind) noexcept {
  if (alignment == kNoAlignment) {
    if (void* p = TryNewFast(size, kind)) [[likely]] return p;
  }
  return NewOrNullGeneric(size, alignment, kind);
}

inline void Delete(void* ptr) noexcept { CountedTracedRelease(ptr, Call::kDelete); }

}  // namespace
}  // namespace poolscope::interpose

#define POOLSCOPE_CXX_EXPORT __attribute__((visibility("default")))

using poolscope::interpose::AllocKind;
using poolscope::interpose::Delete;
using poolscope::interpose::kNoAlignment;
using poolscope::interpose::NewOrNull;
using poolscope::interpose::NewOrThrow;
using std::align_val_t;
using std::nothrow_t;
using std::size_t;

// clang-format off
POOLSCOPE_CXX_EXPORT void* operator new(size_t n) { return NewOrThrow(n, kNoAlignment, AllocKind::kNew); }
POOLSCOPE_CXX_EXPORT void* operator new[](size_t n) { return NewOrThrow(n, kNoAlignment, AllocKind::kNewArray); }
POOLSCOPE_CXX_EXPORT void* operator new(size_t n, const nothrow_t&) noexcept { return NewOrNull(n, kNoAlignment, AllocKind::kNew); }
POOLSCOPE_CXX_EXPORT void* operator new[](size_t n, const nothrow_t&) noexcept { return NewOrNull(n, kNoAlignment, AllocKind::kNewArray); }
POOLSCOPE_CXX_EXPORT void* operator new(size_t n, align_val_t a) { return NewOrThrow(n, static_cast<size_t>(a), AllocKind::kNew); }
POOLSCOPE_CXX_EXPORT void* operator new[](size_t n, align_val_t a) { return NewOrThrow(n, static_cast<size_t>(a), AllocKind::kNewArray); }
POOLSCOPE_CXX_EXPORT void* operator new(size_t n, align_val_t a, const nothrow_t&) noexcept { return NewOrNull(n, static_cast<size_t>(a), AllocKind::kNew); }
POOLSCOPE_CXX_EXPORT void* operator new[](size_t n, align_val_t a, const nothrow_t&) noexcept { return NewOrNull(n, static_cast<size_t>(a), AllocKind::kNewArray); }

POOLSCOPE_CXX_EXPORT void operator delete(void* p) noexcept { Delete(p); }
POOLSCOPE_CXX_EXPORT void operator delete[](void* p) noexcept { Delete(p); }
POOLSCOPE_CXX_EXPORT void operator delete(void* p, size_t) noexcept { Delete(p); }
POOLSCOPE_CXX_EXPORT void operator delete[](void* p, size_t) noexcept { Delete(p); }
POOLSCOPE_CXX_EXPORT void operator delete(void* p, align_val_t) noexcept { Delete(p); }
POOLSCOPE_CXX_EXPORT void operator delete[](void* p, align_val_t) noexcept { Delete(p); }
POOLSCOPE_CXX_EXPORT void operator delete(void* p, size_t, align_val_t) noexcept { Delete(p); }
POOLSCOPE_CXX_EXPORT void operator delete[](void* p, size_t, align_val_t) noexcept { Delete(p); }
POOLSCOPE_CXX_EXPORT void operator delete(void* p, const nothrow_t&) noexcept { Delete(p); }
POOLSCOPE_CXX_EXPORT void operator delete[](void* p, const nothrow_t&) noexcept { Delete(p); }
POOLSCOPE_CXX_EXPORT void operator delete(void* p, align_val_t, const nothrow_t&) noexcept { Delete(p); }
POOLSCOPE_CXX_EXPORT void operator delete[](void* p, align_val_t, const nothrow_t&) noexcept { Delete(p); }
// clang-format on
