// A test-and-test-and-set lock for the allocator's rare paths (page and segment management,
// large-block registry). It never allocates and never sleeps in the kernel, so it is usable
// before initialisation and across fork. It remembers its holder so a fork from a signal
// handler that interrupted the holder can see that waiting would deadlock.
#ifndef POOLSCOPE_SRC_COMMON_SPINLOCK_H_
#define POOLSCOPE_SRC_COMMON_SPINLOCK_H_

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

namespace poolscope::common {

// The calling thread's kernel id, cached in initial-exec TLS (gettid() is a syscall). A forked
// child inherits the parent's value, so fork handlers call ForgetThreadId().
inline __thread int cached_thread_id __attribute__((tls_model("initial-exec"))) = 0;

inline int CurrentThreadId() {
  if (cached_thread_id == 0) [[unlikely]] {
    cached_thread_id = static_cast<int>(syscall(SYS_gettid));
  }
  return cached_thread_id;
}

inline void ForgetThreadId() { cached_thread_id = 0; }

class SpinLock {
 public:
  constexpr SpinLock() = default;

  void Lock() {
    int self = CurrentThreadId();
    for (int spins = 0;; ++spins) {
      if (owner_.load(std::memory_order_relaxed) == 0 && TryAcquire(self)) return;
      if (spins < 64) {
        __builtin_ia32_pause();
      } else {
        sched_yield();
      }
    }
  }

  bool TryLock() {
    return owner_.load(std::memory_order_relaxed) == 0 && TryAcquire(CurrentThreadId());
  }

  void Unlock() { owner_.store(0, std::memory_order_release); }

  // Exact even in a signal handler that interrupted Lock or Unlock: taking and releasing the
  // lock is a single store of the owner's id.
  bool HeldByCurrentThread() const {
    return owner_.load(std::memory_order_relaxed) == CurrentThreadId();
  }

  // Before fork: take the lock unless this very thread already holds it (a signal handler
  // interrupted it); returns whether it was taken, to pass to AfterForkInParent.
  bool LockForFork() {
    if (HeldByCurrentThread()) return false;
    Lock();
    return true;
  }
  void AfterForkInParent(bool taken) {
    if (taken) Unlock();
  }
  // In the child only the forking thread exists: whatever the state, the lock is free now.
  void ResetInChild() { owner_.store(0, std::memory_order_release); }

 private:
  bool TryAcquire(int self) {
    int expected = 0;
    return owner_.compare_exchange_strong(expected, self, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }

  std::atomic<int> owner_{0};  // kernel thread id of the holder, 0 when free
};

class SpinLockGuard {
 public:
  explicit SpinLockGuard(SpinLock& lock) : lock_(lock) { lock_.Lock(); }
  ~SpinLockGuard() { lock_.Unlock(); }
  SpinLockGuard(const SpinLockGuard&) = delete;
  SpinLockGuard& operator=(const SpinLockGuard&) = delete;

 private:
  SpinLock& lock_;
};

}  // namespace poolscope::common

#endif  // POOLSCOPE_SRC_COMMON_SPINLOCK_H_
