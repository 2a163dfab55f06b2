#include "trace/stack_table.h"
#include "common/raw_syscalls.h"

#include <sys/mman.h>

namespace poolscope::trace {

bool StackTable::Init(size_t max_nodes) {
  size_t slots = 1;
  while (slots < 2 * max_nodes) slots *= 2;
  void* p = common::RawMmap(nullptr, slots * sizeof(Entry), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  table_ = static_cast<Entry*>(p);
  mask_ = slots - 1;
  max_nodes_ = max_nodes;
  return true;
}

void StackTable::ClearInChild() {
  lock_.ResetInChild();
  // Zero pages without touching them: the table may be large and mostly untouched.
  madvise(table_, (mask_ + 1) * sizeof(Entry), MADV_DONTNEED);
  next_id_ = 1;
}

uint64_t StackTable::Intern(uint64_t parent, uint64_t address, bool* created) {
  *created = false;
  uint64_t h = (parent * 0x9e3779b97f4a7c15ULL) ^ (address * 0xc2b2ae3d27d4eb4fULL);
  h ^= h >> 31;
  common::SpinLockGuard guard(lock_);
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    Entry& e = table_[i];
    if (e.id == 0) {
      if (next_id_ > max_nodes_) return 0;
      e.parent = parent;
      e.address = address;
      e.id = next_id_++;
      *created = true;
      return e.id;
    }
    if (e.parent == parent && e.address == address) return e.id;
  }
}

}  // namespace poolscope::trace
