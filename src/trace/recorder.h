// The recorder: every allocation's size, lifetime and stack, written to a crash-safe trace.
//
// The interposition layer calls Record* after each successful call while `recording` is true.
// Each thread encodes events into a buffer of its own (guarded by a lock that only the owner
// and the periodic flusher ever take); a full buffer is compressed and written as one frame by
// the thread that filled it. A flusher thread writes every buffer at least every 250 ms, and
// samples memory use and the loaded modules. The recorder never allocates through the traced
// allocator (its memory is mapped) and never records itself: a thread-local depth counter
// turns off recording while the recorder runs, e.g. when the unwinder or dlopen allocates.
// It knows nothing of engines.
#ifndef POOLSCOPE_SRC_TRACE_RECORDER_H_
#define POOLSCOPE_SRC_TRACE_RECORDER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "common/config.h"
#include "common/fast_thread.h"
#include "poolscope/trace_format.h"

namespace poolscope::trace {

// True while events are being recorded; a plain global, read on every allocation.
extern bool recording;
// True in sampled mode: most calls are then settled inline (SkipUnsampled*), without a call;
// with the pool engine, most never leave its fast paths (engine/pool/fast_path.h).
extern bool sampling;
// Sampled mode: a counting filter over the addresses of live sampled blocks.
inline constexpr size_t kSampledFilterCounters = size_t{1} << 16;
extern std::atomic<uint8_t> sampled_filter[kSampledFilterCounters];
// No shift of the address first: blocks are 16-byte aligned, and the product's top bits mix
// the bits above the low four all the same, with one instruction fewer on every free.
inline size_t SampledFilterSlot(uintptr_t p) { return (p * 0xc2b2ae3d27d4eb4fULL) >> 48; }

// In sampled mode, true for an allocation that is not sampled: one subtraction from the
// thread's countdown (common/fast_thread.h), which the fast path shares.
inline bool SkipUnsampledAllocation(size_t size) {
  return sampling && (fast_thread.sample_countdown -= static_cast<int64_t>(size)) > 0;
}
// In sampled mode, false for a block that was surely not sampled (one load), true for every
// sampled block and a few others.
inline bool MaybeSampled(const void* p) {
  return sampled_filter[SampledFilterSlot(reinterpret_cast<uintptr_t>(p))].load(
             std::memory_order_relaxed) != 0;
}
// In sampled mode, true for a free of a block that was surely not sampled.
inline bool SkipUnsampledFree(const void* p) { return sampling && !MaybeSampled(p); }

// Runs fn(context) with this thread's recording suspended: for the library's own work outside
// the recorder (looking symbols up), whose allocations are not the program's.
void Untraced(void (*fn)(void*), void* context);

// Finds the word the engine keeps for a block, for its key (null: the block map keeps it).
using BlockTagSlotOf = uint64_t* (*)(const void* block);
// Moves a block being sampled to where its free will be recorded (Engine::MoveSampledBlock).
using SampledBlockMover = void* (*)(void* block, size_t size, size_t alignment,
                                    bool keep_contents);

// From the first allocation, once the engine is ready: decides the output and starts
// recording into the threads' buffers. Must not allocate. `tag_slot_of` (may be null) finds
// the engine's word for a block: blocks that have one keep their keys there instead of in
// the block map. `move_sampled` places the blocks sampled mode samples.
void Start(const common::Config& config, const char* engine_name, BlockTagSlotOf tag_slot_of,
           SampledBlockMover move_sampled);
// From the library constructor: what must not run inside malloc (loading libzstd and the
// unwinder, creating the file, starting the flusher thread, listing modules). Recording stops
// (after one line on stderr) when libzstd cannot be loaded or the file cannot be made.
void StartBackgroundWork();

// Record before the block can be reused by another thread (frees: before releasing it), so
// events on one address are in time order across threads. In sampled mode, RecordAlloc is
// called only once SkipUnsampledAllocation said no (the countdown is already charged).
// RecordAlloc returns the block the caller must hand out: a sampled block may have moved, to a
// place aligned to `alignment` (and with its contents when they matter: calloc's and realloc's).
void* RecordAlloc(void* p, size_t size, trace_format::AllocKind kind, size_t alignment);
// True when the block was sampled (sampled mode): it must be freed with
// Engine::FreeSampledBlock.
bool RecordFree(void* p);
// A realloc in two steps. BeginRealloc, before the call, takes the old block's record while
// no other thread can have been given its address; EndRealloc, after it, records the outcome
// (a failure gives the old block its record back; size 0 is a free).
struct ReallocTicket {
  uint64_t block;       // the old block's key, 0 when it has none
  uint64_t started_ns;  // the realloc's time: before it released the old block
};
ReallocTicket BeginRealloc(void* old_p);
// Returns the block the caller must hand out, as RecordAlloc does.
void* EndRealloc(void* old_p, const ReallocTicket& ticket, void* new_p, size_t size);
void RecordMark(const char* name);
// The program's own mappings (mmap, munmap, mremap), from interpose/mmap_api.cc.
void RecordMmap(void* p, size_t length, int prot, int flags, int fd);
void RecordMunmap(void* p, size_t length);
void RecordMremap(void* old_p, size_t old_length, void* new_p, size_t new_length);

// Writes everything buffered so far, synchronously.
void FlushAll();
// The process is about to end with `status` (exit, _exit, or main returning).
void NoteExitStatus(int status);
// At the very end (library destructor): flush and write the End record.
void Finish();
// The same from _exit, which may be called from a signal handler that interrupted the
// recorder: takes no lock it would have to wait for (what a busy lock guards is lost).
void FinishWithoutWaiting();
// Before exec replaces the image: flush synchronously (exec kills the flusher thread).
void BeforeExec();

void ForkPrepare();
void ForkParent();
void ForkChild();

// The trace file's path ("" before it is decided).
const char* TracePath();

}  // namespace poolscope::trace

#endif  // POOLSCOPE_SRC_TRACE_RECORDER_H_
