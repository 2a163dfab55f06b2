// Block tags: one 64-bit word per block of the arena that its user may keep there (the
// recorder keeps its block keys), found from the block's address by arithmetic, with no lock.
//
// The table is half the arena's range, a word per 16 bytes (the smallest block), reserved
// only when asked for and backed only where written. A page's words start at its offset in
// the arena / 16, so every page has room for one word per block it can hold, and a block's
// word is that start plus its number in the page. Pages never overlap, so neither do their
// words; a word belongs to whichever block is live there, and its user must clear it before
// the block is freed, or the next block of a page reused with another size class may find it.
#ifndef POOLSCOPE_SRC_ENGINE_POOL_BLOCK_TAGS_H_
#define POOLSCOPE_SRC_ENGINE_POOL_BLOCK_TAGS_H_

#include <cstddef>
#include <cstdint>

#include "common/hidden.h"
#include "engine/pool/arena.h"

namespace poolscope::engine::pool {

class BlockTags {
 public:
  // Reserves the table for `arena` (initialised). False when the kernel refuses it.
  bool Reserve(const Arena* arena);

  // The word of the block starting at `p`, or null when `p` is not the start of a block the
  // arena has carved (outside it, an interior pointer, an unused page): only then is there a
  // word that is `p`'s alone. Never a word outside the table, whatever `p` is.
  uint64_t* SlotOf(const void* p) const;

 private:
  const Arena* arena_ = nullptr;
  uint64_t* slots_ = nullptr;
  size_t count_ = 0;
};

extern BlockTags block_tags POOLSCOPE_HIDDEN;

}  // namespace poolscope::engine::pool

#endif  // POOLSCOPE_SRC_ENGINE_POOL_BLOCK_TAGS_H_
