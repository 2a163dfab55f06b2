// The in-process call-stack trie: (parent node, return address) -> node id, so an event
// carries one id and each node is written to the trace once.
//
// Nodes live in an open-addressing table in memory of its own, sized at start-up; the memory
// bound is the table, and when it is full Intern returns 0 (an unknown stack) and the caller
// records that the cap was reached. Inserts take a lock; threads rarely get there, because
// each thread first reuses the nodes of the part its previous stack shares with the new one.
#ifndef POOLSCOPE_SRC_TRACE_STACK_TABLE_H_
#define POOLSCOPE_SRC_TRACE_STACK_TABLE_H_

#include <cstddef>
#include <cstdint>

#include "common/spinlock.h"

namespace poolscope::trace {

class StackTable {
 public:
  // Room for `max_nodes` nodes (the table gets twice as many slots).
  bool Init(size_t max_nodes);

  // The node for `address` called from `parent` (0: the root). *created is set when the node
  // is new (the caller writes it to the trace). Returns 0 when the table is full.
  uint64_t Intern(uint64_t parent, uint64_t address, bool* created);

  size_t nodes() const { return next_id_ - 1; }
  // A fork child writes a file of its own, which must get every node it names: the child
  // starts from an empty table (ids restart, so callers must drop ids they cached).
  void ClearInChild();

 private:
  struct Entry {
    uint64_t parent;
    uint64_t address;
    uint64_t id;  // 0: empty slot
  };

  common::SpinLock lock_;
  Entry* table_ = nullptr;
  size_t mask_ = 0;
  size_t max_nodes_ = 0;
  uint64_t next_id_ = 1;
};

}  // namespace poolscope::trace

#endif  // POOLSCOPE_SRC_TRACE_STACK_TABLE_H_
