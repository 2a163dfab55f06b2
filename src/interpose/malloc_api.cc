// The C allocation surface, one entry point per glibc name. Each maps its name onto the shared
// semantics in allocation.h; the __libc_* names and cfree are aliases, so code that calls
// glibc's internal names (or an old binary bound to cfree) reaches the same engine.
#include <malloc.h>
#include <stdio.h>

#include <climits>

#include "interpose/allocation.h"
#include "interpose/export.h"

using poolscope::interpose::Call;
using poolscope::interpose::CountCall;
namespace ip = poolscope::interpose;

POOLSCOPE_EXPORT void* malloc(size_t size) noexcept {
  return ip::CountedTracedAllocate(size);
}

POOLSCOPE_EXPORT void free(void* ptr) noexcept { ip::CountedTracedRelease(ptr, Call::kFree); }

POOLSCOPE_EXPORT void* calloc(size_t count, size_t size) noexcept {
  CountCall(Call::kCalloc);
  return ip::Traced(ip::AllocateZeroed(count, size), count * size, ip::AllocKind::kCalloc);
}

POOLSCOPE_EXPORT void* realloc(void* ptr, size_t size) noexcept {
  CountCall(Call::kRealloc);
  return ip::TracedReallocate(ptr, size);
}

POOLSCOPE_EXPORT void* reallocarray(void* ptr, size_t count, size_t size) noexcept {
  CountCall(Call::kRealloc);
  size_t bytes;
  if (__builtin_mul_overflow(count, size, &bytes)) return ip::FailedAllocation();
  return ip::TracedReallocate(ptr, bytes);
}

POOLSCOPE_EXPORT int posix_memalign(void** out, size_t alignment, size_t size) noexcept {
  CountCall(Call::kAligned);
  // A power-of-two multiple of sizeof(void*); EINVAL is returned, not stored in errno.
  if (alignment == 0 || alignment % sizeof(void*) != 0 ||
      ((alignment / sizeof(void*)) & (alignment / sizeof(void*) - 1)) != 0) {
    return EINVAL;
  }
  void* p = ip::Traced(ip::AllocateAligned(alignment, size), size, ip::AllocKind::kAligned,
                       alignment);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

// glibc 2.36's aligned_alloc is memalign: any alignment is accepted and rounded up.
POOLSCOPE_EXPORT void* memalign(size_t alignment, size_t size) noexcept {
  CountCall(Call::kAligned);
  return ip::Traced(ip::AllocateAligned(alignment, size), size, ip::AllocKind::kAligned,
                   alignment);
}

POOLSCOPE_EXPORT void* aligned_alloc(size_t alignment, size_t size) noexcept {
  CountCall(Call::kAligned);
  return ip::Traced(ip::AllocateAligned(alignment, size), size, ip::AllocKind::kAligned,
                   alignment);
}

POOLSCOPE_EXPORT void* valloc(size_t size) noexcept {
  CountCall(Call::kAligned);
  return ip::Traced(ip::AllocateAligned(ip::kPageSize, size), size, ip::AllocKind::kAligned,
                   ip::kPageSize);
}

POOLSCOPE_EXPORT void* pvalloc(size_t size) noexcept {
  CountCall(Call::kAligned);
  size_t rounded;
  if (__builtin_add_overflow(size, ip::kPageSize - 1, &rounded)) return ip::FailedAllocation();
  size_t bytes = rounded & ~(ip::kPageSize - 1);
  return ip::Traced(ip::AllocateAligned(ip::kPageSize, bytes), bytes, ip::AllocKind::kAligned,
                   ip::kPageSize);
}

POOLSCOPE_EXPORT size_t malloc_usable_size(void* ptr) noexcept { return ip::UsableSize(ptr); }

// C23. The size and alignment hints are never trusted: a wrong hint must not corrupt the heap.
POOLSCOPE_EXPORT void free_sized(void* ptr, size_t /*size*/) noexcept {
  ip::CountedTracedRelease(ptr, Call::kFree);
}

POOLSCOPE_EXPORT void free_aligned_sized(void* ptr, size_t /*alignment*/,
                                         size_t /*size*/) noexcept {
  ip::CountedTracedRelease(ptr, Call::kFree);
}

POOLSCOPE_EXPORT struct mallinfo2 mallinfo2() noexcept {
  poolscope::engine::Engine* e = ip::ReadyEngineOrNull();
  return e != nullptr ? e->Info() : (struct mallinfo2){};
}

// The old interface truncates to int, as glibc's does.
POOLSCOPE_EXPORT struct mallinfo mallinfo() noexcept {
  struct mallinfo2 m = mallinfo2();
  struct mallinfo out;
  out.arena = static_cast<int>(m.arena);
  out.ordblks = static_cast<int>(m.ordblks);
  out.smblks = static_cast<int>(m.smblks);
  out.hblks = static_cast<int>(m.hblks);
  out.hblkhd = static_cast<int>(m.hblkhd);
  out.usmblks = static_cast<int>(m.usmblks);
  out.fsmblks = static_cast<int>(m.fsmblks);
  out.uordblks = static_cast<int>(m.uordblks);
  out.fordblks = static_cast<int>(m.fordblks);
  out.keepcost = static_cast<int>(m.keepcost);
  return out;
}

POOLSCOPE_EXPORT int malloc_trim(size_t pad) noexcept {
  poolscope::engine::Engine* e = ip::ReadyEngineOrNull();
  return e != nullptr ? e->Trim(pad) : 0;
}

POOLSCOPE_EXPORT int mallopt(int param, int value) noexcept {
  poolscope::engine::Engine* e = ip::ReadyEngineOrNull();
  return e != nullptr ? e->SetOption(param, value) : 0;
}

POOLSCOPE_EXPORT void malloc_stats() noexcept {
  if (poolscope::engine::Engine* e = ip::ReadyEngineOrNull()) e->PrintStats();
}

POOLSCOPE_EXPORT int malloc_info(int options, FILE* out) noexcept {
  poolscope::engine::Engine* e = ip::ReadyEngineOrNull();
  if (e == nullptr) {
    errno = EAGAIN;
    return -1;
  }
  return e->WriteInfoXml(options, out);
}

POOLSCOPE_EXPORT void* __libc_malloc(size_t) noexcept POOLSCOPE_ALIAS(malloc);
POOLSCOPE_EXPORT void __libc_free(void*) noexcept POOLSCOPE_ALIAS(free);
POOLSCOPE_EXPORT void cfree(void*) noexcept POOLSCOPE_ALIAS(free);
POOLSCOPE_EXPORT void* __libc_calloc(size_t, size_t) noexcept POOLSCOPE_ALIAS(calloc);
POOLSCOPE_EXPORT void* __libc_realloc(void*, size_t) noexcept POOLSCOPE_ALIAS(realloc);
POOLSCOPE_EXPORT void* __libc_memalign(size_t, size_t) noexcept POOLSCOPE_ALIAS(memalign);
POOLSCOPE_EXPORT void* __libc_valloc(size_t) noexcept POOLSCOPE_ALIAS(valloc);
POOLSCOPE_EXPORT void* __libc_pvalloc(size_t) noexcept POOLSCOPE_ALIAS(pvalloc);
