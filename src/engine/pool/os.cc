#include "engine/pool/os.h"
#include "common/raw_syscalls.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

namespace poolscope::engine::pool::os {

void* Reserve(size_t size) {
  void* p = common::RawMmap(nullptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void* ReserveAligned(size_t size, size_t alignment) {
  size_t span = size + alignment;
  auto* raw = static_cast<char*>(Reserve(span));
  if (raw == nullptr) return nullptr;
  uintptr_t start = RoundUp(reinterpret_cast<uintptr_t>(raw), alignment);
  size_t head = start - reinterpret_cast<uintptr_t>(raw);
  if (head > 0) common::RawMunmap(raw, head);
  size_t tail = span - head - size;
  if (tail > 0) common::RawMunmap(reinterpret_cast<char*>(start) + size, tail);
  return reinterpret_cast<void*>(start);
}

void Release(void* addr, size_t size) { common::RawMunmap(addr, size); }

bool Commit(void* addr, size_t size, common::HugePages mode) {
  if (mode == common::HugePages::kHugetlb) {
    int saved_errno = errno;
    // Never with MAP_NORESERVE: a hugetlb mapping without a reservation gets SIGBUS when the
    // pool runs dry, long after this call succeeded. And first a probe elsewhere: a MAP_FIXED
    // mmap that fails may already have unmapped the reservation under it.
    void* probe = common::RawMmap(nullptr, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    errno = saved_errno;
    if (probe == MAP_FAILED) return false;  // no reserved huge pages: the caller falls back
    common::RawMunmap(probe, size);
    void* p = common::RawMmap(addr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_HUGETLB, -1, 0);
    if (p != MAP_FAILED) return true;
    // The pool ran dry between the probe and here: put the reservation back at once, so the
    // range cannot be handed to anyone else, and let the caller fall back.
    common::RawMmap(addr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    errno = saved_errno;
    return false;
  }
  return mprotect(addr, size, PROT_READ | PROT_WRITE) == 0;
}

void AdviseHugePages(void* addr, size_t size, common::HugePages mode) {
  if (mode == common::HugePages::kThp) {
    madvise(addr, size, MADV_HUGEPAGE);
  } else if (mode == common::HugePages::kOff) {
    madvise(addr, size, MADV_NOHUGEPAGE);
  }
}

void Purge(void* addr, size_t size) { madvise(addr, size, MADV_DONTNEED); }

void* MapAligned(size_t size, size_t alignment) {
  if (alignment <= kPageSize) {
    void* p = common::RawMmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  void* start = ReserveAligned(size, alignment);
  if (start == nullptr) return nullptr;
  void* p = common::RawMmap(start, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                 -1, 0);
  if (p == MAP_FAILED) {
    common::RawMunmap(start, size);
    return nullptr;
  }
  return p;
}

bool ResizeInPlace(void* addr, size_t old_size, size_t new_size) {
  // Failing here is routine (the next pages are taken) and must not leak into errno: a
  // realloc that then succeeds by moving leaves errno as it found it.
  int saved_errno = errno;
  bool ok = common::RawMremap(addr, old_size, new_size, 0) != MAP_FAILED;
  errno = saved_errno;
  return ok;
}

void* MoveAligned(void* addr, size_t old_size, size_t new_size, size_t alignment) {
  void* target = ReserveAligned(new_size, alignment < kPageSize ? kPageSize : alignment);
  if (target == nullptr) return nullptr;
  void* p = common::RawMremap(addr, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, target);
  if (p == MAP_FAILED) {
    common::RawMunmap(target, new_size);
    return nullptr;
  }
  return p;
}

bool SafeRead(const void* addr, void* out, size_t size) {
  // process_vm_readv on ourselves reports EFAULT instead of delivering SIGSEGV.
  struct iovec local = {out, size};
  struct iovec remote = {const_cast<void*>(addr), size};
  int saved_errno = errno;
  bool ok = process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == static_cast<ssize_t>(size);
  errno = saved_errno;
  return ok;
}

uint64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

}  // namespace poolscope::engine::pool::os
