// A lock that one thread, its owner, takes on every event and any other thread only now and
// then: the recorder's per-thread buffer lock, which the flusher takes every round and the
// crash, exit and exec paths take once.
//
// An uncontended spin lock still costs a locked instruction to take, about as much as the
// recorder's whole encoding of an event. Here the owner takes the lock with plain stores: it
// raises `owner_busy_`, then checks that no other thread claims the lock. On its own that is
// Dekker's protocol without the store-load fence it needs; the fence is supplied by the rare
// side instead: a thread that claims the lock raises `claimed_`, then calls
// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which runs a full memory barrier on every
// other CPU running one of our threads, and only then reads `owner_busy_`. Either the owner's
// store was before that barrier (the claimer sees it and waits), or its load of `claimed_`
// was after it (the owner sees the claim and waits). Where membarrier is refused (an old
// kernel, a seccomp filter) UseAsymmetricLocks fails and every side takes the spin lock.
#ifndef POOLSCOPE_SRC_COMMON_BIASED_LOCK_H_
#define POOLSCOPE_SRC_COMMON_BIASED_LOCK_H_

#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "common/hidden.h"
#include "common/spinlock.h"

namespace poolscope::common {

// Whether owners take their locks with plain stores; set before any lock is used (and again
// in a fork child, which is single-threaded then).
inline bool asymmetric_locks POOLSCOPE_HIDDEN = false;

// Registers the process for expedited membarriers and turns the asymmetric protocol on;
// false (spin locks everywhere) when the kernel refuses.
inline bool UseAsymmetricLocks() {
  asymmetric_locks =
      syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0 &&
      syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
  return asymmetric_locks;
}

class BiasedLock {
 public:
  constexpr BiasedLock() = default;

  // The owner, who alone calls these, never nests them.
  void LockAsOwner() {
    if (!asymmetric_locks) return spin_.Lock();
    for (;;) {
      owner_busy_.store(true, std::memory_order_relaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);
      if (!claimed_.load(std::memory_order_acquire)) [[likely]] return;
      owner_busy_.store(false, std::memory_order_release);
      while (claimed_.load(std::memory_order_acquire)) Pause();
    }
  }
  void UnlockAsOwner() {
    if (!asymmetric_locks) return spin_.Unlock();
    owner_busy_.store(false, std::memory_order_release);
  }
  // Whether the owner is inside the lock: asked by a signal handler on the owner's thread,
  // which must then not wait for it.
  bool owner_busy() const {
    return asymmetric_locks ? owner_busy_.load(std::memory_order_relaxed)
                            : spin_.HeldByCurrentThread();
  }

  // Any other thread (or the owner outside its own hold). TryLock gives up after `patience`
  // rounds of waiting for the owner to leave.
  void Lock() { Claim(/*patience=*/-1); }
  bool TryLock(int patience) { return Claim(patience); }
  void Unlock() {
    if (asymmetric_locks) claimed_.store(false, std::memory_order_release);
    spin_.Unlock();
  }

  // In a fork child only the forking thread exists: whatever the state, the lock is free.
  void ResetInChild() {
    owner_busy_.store(false, std::memory_order_relaxed);
    claimed_.store(false, std::memory_order_relaxed);
    spin_.ResetInChild();
  }

 private:
  static void Pause() { sched_yield(); }

  bool Claim(int patience) {
    if (patience < 0) {
      spin_.Lock();
    } else if (!spin_.TryLock()) {
      return false;
    }
    if (!asymmetric_locks) return true;
    claimed_.store(true, std::memory_order_relaxed);
    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    for (int waited = 0; owner_busy_.load(std::memory_order_acquire); ++waited) {
      if (patience >= 0 && waited >= patience) {
        Unlock();
        return false;
      }
      Pause();
    }
    return true;
  }

  SpinLock spin_;  // between the other threads; the whole lock when not asymmetric
  std::atomic<bool> owner_busy_{false};
  std::atomic<bool> claimed_{false};
};

}  // namespace poolscope::common

#endif  // POOLSCOPE_SRC_COMMON_BIASED_LOCK_H_
