// poolscope's trace format: the one definition shared by the recorder (inside the traced
// process) and the tools that read traces. docs/TRACE_FORMAT.md describes it for humans.
//
// A trace file is a FileHeader followed by frames. Each frame is a FrameHeader and one zstd
// frame (with its content checksum) holding records of a single thread. Frames are
// self-delimiting: a process killed at any moment leaves a file readable up to its last
// complete frame, and a corrupt frame can be skipped. Every frame decodes on its own: the
// delta state of the encoding starts afresh in each, and each says where its thread's block
// numbering stands.
//
// Inside a frame, fields are spread over streams by kind (ops, times, sizes, stacks, block
// references), which compress far better apart than interleaved. Allocations, frees and
// reallocs are usually recorded without addresses: a block is named by its thread and the
// number of the allocation that made it. Every other record is a generic one, in the op
// stream: varint(type) varint(payload length) payload. Payload fields are unsigned LEB128
// varints, zigzag varints for deltas, and strings/bytes as varint length + bytes. A reader
// skips generic records whose type it does not know (newer minor versions add types and
// append fields to existing payloads; a reader ignores trailing fields it does not know). A
// change that old readers would misread bumps the major version, and readers refuse newer
// majors.
//
// Everything here is header-only, allocation-free and exception-free, so the preload library
// can encode on its allocation path and the tools can decode with the same code.
#ifndef POOLSCOPE_TRACE_FORMAT_H_
#define POOLSCOPE_TRACE_FORMAT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>



namespace poolscope::trace_format {

inline constexpr char kFileMagic[8] = {'P', 'S', 'T', 'R', 'A', 'C', 'E', '\n'};
inline constexpr uint16_t kMajorVersion = 2;
inline constexpr uint16_t kMinorVersion = 0;

struct FileHeader {
  char magic[8];
  uint16_t major;
  uint16_t minor;
  uint32_t reserved;  // zero
};
static_assert(sizeof(FileHeader) == 16);

inline constexpr uint32_t kFrameMagic = 0x52465350;  // "PSFR" little-endian

// Little-endian, packed as written. `thread` is the small thread id of every record in the
// frame (0: process-level records written by the recorder itself). `check` covers the other
// fields (zstd's checksum covers the data), so a damaged size can never send a reader astray.
struct FrameHeader {
  uint32_t magic;
  uint32_t compressed_size;  // bytes of zstd data following this header
  uint32_t raw_size;         // bytes of records once decompressed
  uint32_t thread;
  uint64_t sequence;         // frames are numbered from 0 in write order
  uint32_t check;            // FrameHeaderCheck() of this header
  uint32_t reserved;         // zero
};
static_assert(sizeof(FrameHeader) == 32);

// FNV-1a over the header with `check` taken as zero.
inline uint32_t FrameHeaderCheck(FrameHeader header) {
  header.check = 0;
  const auto* bytes = reinterpret_cast<const uint8_t*>(&header);
  uint32_t hash = 2166136261u;
  for (size_t i = 0; i < sizeof(header); ++i) hash = (hash ^ bytes[i]) * 16777619u;
  return hash;
}

// A frame's records never exceed this: readers refuse larger raw sizes as corrupt.
inline constexpr uint32_t kMaxFrameRawBytes = 4u << 20;

enum class RecordType : uint32_t {
  kProcess = 1,       // once, first: who and what was traced
  kThreadStart = 2,   // a thread's first event
  kThreadExit = 3,
  kModuleLoad = 4,    // a mapped ELF object, for symbolization after the fact
  kModuleUnload = 5,
  kStackNode = 6,     // one node of the call-stack trie
  kAlloc = 7,         // malloc, calloc, new, aligned forms
  kFree = 8,
  kRealloc = 9,
  kMmap = 10,
  kMunmap = 11,
  kMremap = 12,
  kPhaseMark = 13,    // poolscope_mark("name")
  kMemorySample = 14, // periodic RSS and huge-page figures
  kEnd = 15,          // the process ended normally, with its status
  kCapReached = 16,   // a recorder limit was hit: events of this kind are no longer complete
  kSampledAlloc = 17, // an allocation chosen by sampling, with the bytes it stands for
};

// Which allocation call produced an Alloc or Realloc (for reports that tell new from malloc).
enum class AllocKind : uint8_t {
  kMalloc = 0,
  kCalloc = 1,
  kAligned = 2,
  kNew = 3,
  kNewArray = 4,
  kRealloc = 5,
};

enum class Cap : uint8_t {
  kStackTable = 1,   // no room for new stacks: later allocations carry stack 0 (unknown)
  kThreadCount = 2,  // too many threads: later threads share id 0
  kWriteFailed = 3,  // the disk is full or the file unwritable: recording stopped
  kBlockMap = 4,     // too many live blocks to number: later ones are recorded by address
};

// ---------------------------------------------------------------------------------------------
// Decoded records: absolute values, as readers see them. Strings point into the frame buffer.

struct ProcessRecord {
  uint64_t pid = 0;
  uint64_t parent_pid = 0;
  uint64_t exec_generation = 0;  // 0 for the first image of a pid, +1 per exec
  std::string_view executable;
  std::string_view command_line;  // arguments separated by '\0'
  std::string_view host;
  int64_t mpi_rank = -1;          // -1 when not an MPI job
  std::string_view engine;        // "pool", "libc", ...
  uint64_t page_size = 0;
  uint64_t huge_page_size = 0;
  uint64_t start_realtime_ns = 0; // CLOCK_REALTIME at start
  uint64_t start_monotonic_ns = 0;// timestamps in events are CLOCK_MONOTONIC ns
  uint64_t sample_bytes = 0;      // mean bytes between samples; 0 when every call is recorded
};

struct ThreadRecord {
  uint64_t timestamp_ns = 0;
  uint64_t kernel_tid = 0;
};

struct ModuleRecord {
  uint64_t timestamp_ns = 0;
  uint64_t load_address = 0;  // the object's l_addr: runtime address = address in file + this
  uint64_t size = 0;          // end of its highest segment from load_address: the object's
                              // addresses lie in [load_address, load_address + size)
  std::string_view path;
  std::string_view build_id;  // raw bytes of NT_GNU_BUILD_ID, empty when absent
};

// Stack node `id` is the frame `return_address` called from stack node `parent` (0: the root).
// A stack id names the innermost node; walking parents gives the stack, innermost first.
struct StackNodeRecord {
  uint64_t id = 0;
  uint64_t parent = 0;
  uint64_t return_address = 0;
};

struct AllocRecord {
  uint64_t timestamp_ns = 0;
  uint64_t address = 0;
  uint64_t size = 0;
  uint64_t stack = 0;
  AllocKind kind = AllocKind::kMalloc;
  uint64_t weight = 0;  // kSampledAlloc only: the bytes this sample stands for
};

struct FreeRecord {
  uint64_t timestamp_ns = 0;
  uint64_t address = 0;
};

struct ReallocRecord {
  uint64_t timestamp_ns = 0;
  uint64_t old_address = 0;
  uint64_t new_address = 0;
  uint64_t size = 0;
  uint64_t stack = 0;
};

struct MmapRecord {
  uint64_t timestamp_ns = 0;
  uint64_t address = 0;
  uint64_t length = 0;
  uint64_t prot = 0;
  uint64_t flags = 0;
  int64_t fd = -1;
  uint64_t stack = 0;
};

struct MunmapRecord {
  uint64_t timestamp_ns = 0;
  uint64_t address = 0;
  uint64_t length = 0;
};

struct MremapRecord {
  uint64_t timestamp_ns = 0;
  uint64_t old_address = 0;
  uint64_t old_length = 0;
  uint64_t new_address = 0;
  uint64_t new_length = 0;
};

struct PhaseMarkRecord {
  uint64_t timestamp_ns = 0;
  std::string_view name;
};

struct MemorySampleRecord {
  uint64_t timestamp_ns = 0;
  uint64_t rss_bytes = 0;
  uint64_t anon_huge_bytes = 0;   // AnonHugePages of the whole process
  uint64_t heap_huge_bytes = 0;   // AnonHugePages of the engine's own segments
  uint64_t heap_rss_bytes = 0;    // Rss of the engine's own segments
};

struct EndRecord {
  uint64_t timestamp_ns = 0;
  int64_t exit_status = 0;
};

struct CapReachedRecord {
  uint64_t timestamp_ns = 0;
  Cap cap = Cap::kStackTable;
};

// ---------------------------------------------------------------------------------------------
// Varints.

inline constexpr size_t kMaxVarintBytes = 10;

inline uint8_t* PutVarint(uint8_t* out, uint64_t v) {
  while (v >= 0x80) {
    *out++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *out++ = static_cast<uint8_t>(v);
  return out;
}

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// Reads from [*in, end). False (and *in unchanged past end) on truncated or overlong input.
inline bool GetVarint(const uint8_t** in, const uint8_t* end, uint64_t* v) {
  const uint8_t* p = *in;
  if (p != end && *p < 0x80) [[likely]] {  // most fields fit in one byte
    *v = *p;
    *in = p + 1;
    return true;
  }
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p == end) return false;
    uint8_t byte = *p++;
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *in = p;
      *v = result;
      return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Blocks. Most allocations are recorded without their address: the n-th allocation recorded by
// thread T is block (T, n), and frees and reallocs name blocks by that key. Readers see it in
// the address fields of decoded records with bit 63 set (no user-space address has it), so they
// match frees to allocations by one 64-bit value whichever way a block was recorded.

inline constexpr uint64_t kBlockKeyBit = uint64_t{1} << 63;
inline constexpr int kBlockSeqBits = 40;
inline constexpr uint64_t kBlockSeqMask = (uint64_t{1} << kBlockSeqBits) - 1;
inline constexpr uint32_t kMaxBlockThread = (1u << 22) - 1;

inline uint64_t BlockKey(uint32_t thread, uint64_t seq) {
  return kBlockKeyBit | (static_cast<uint64_t>(thread) << kBlockSeqBits) | (seq & kBlockSeqMask);
}
inline bool IsBlockKey(uint64_t v) { return (v & kBlockKeyBit) != 0; }
inline uint32_t BlockThread(uint64_t key) {
  return static_cast<uint32_t>((key & ~kBlockKeyBit) >> kBlockSeqBits);
}
inline uint64_t BlockSeq(uint64_t key) { return key & kBlockSeqMask; }

// A frame's records are spread over streams, each holding one kind of field, so that each
// compresses well on its own: an op byte per record, then timestamps, sizes, stack ids and
// block references. Hot records (allocations, frees, reallocs by block) are an op byte plus
// fields in the other streams; every other record is op 0 followed by type, length and payload
// in the op stream itself.
enum Stream : int { kOpStream, kTimeStream, kSizeStream, kStackStream, kRefStream, kStreamCount };

inline constexpr uint8_t kOpRecord = 0x00;         // varint type, varint length, payload
inline constexpr uint8_t kOpAlloc = 0x10;          // | AllocKind: Δtime; size; Δstack
inline constexpr uint8_t kOpSampledAlloc = 0x20;   // | AllocKind: Δtime; size, weight; Δstack
inline constexpr uint8_t kOpFree = 0x30;           // Δtime; block reference
inline constexpr uint8_t kOpRealloc = 0x31;        // Δtime; old block reference; size; Δstack

// Block references in the ref stream: varint v, and v & 3 says what follows.
//   0: a block of the frame's own thread, (v >> 2) allocations before the next one;
//   1: a block of thread v >> 2, its sequence number a zigzag delta from the previous such
//      reference in the frame;
//   2: an address (v >> 2): a block recorded with its address, or one this trace never saw;
//   3: a block of the frame's own thread, its number a zigzag delta (v >> 2) from the previous
//      reference to a block of the frame's own thread (of either kind 0 or 3).
inline constexpr uint64_t kRefLocal = 0, kRefRemote = 1, kRefAddress = 2, kRefLocalStep = 3;

// ---------------------------------------------------------------------------------------------
// Encoding: appends records of one frame into a caller-provided buffer. Never allocates.

class FrameEncoder {
 public:
  // How the buffer is shared among the streams: a thread's events, or only generic records
  // (the process-level frames: process, modules, marks, samples), which live in the op stream.
  enum class Layout { kEvents, kRecordsOnly };

  // `thread`: the thread whose frame this is (block references to its own blocks are short).
  FrameEncoder(uint8_t* buffer, size_t capacity, uint32_t thread = 0, Layout layout = Layout::kEvents)
      : begin_(buffer), end_(buffer + capacity), thread_(thread) {
    // Among events, the op stream also holds the rare generic records: it gets a quarter.
    static constexpr size_t kEventShares[kStreamCount] = {4, 3, 4, 2, 3};
    static constexpr size_t kRecordShares[kStreamCount] = {16, 0, 0, 0, 0};
    const size_t* shares = layout == Layout::kEvents ? kEventShares : kRecordShares;
    size_t usable = capacity > kDirectoryReserve ? capacity - kDirectoryReserve : 0;
    uint8_t* at = buffer + (capacity > kDirectoryReserve ? kDirectoryReserve : capacity);
    for (int i = 0; i < kStreamCount; ++i) {
      streams_[i].begin = streams_[i].out = at;
      at += usable * shares[i] / 16;
      streams_[i].end = i + 1 == kStreamCount ? end_ : at;
    }
  }

  uint32_t thread() const { return thread_; }
  void set_thread(uint32_t thread) { thread_ = thread; }
  uint8_t* buffer() const { return begin_; }
  // The sequence number the next allocation by block will get; set only on an empty frame.
  uint64_t next_seq() const { return next_seq_; }
  void set_next_seq(uint64_t seq) { next_seq_ = first_seq_ = seq; }

  bool empty() const {
    for (const Out& s : streams_) {
      if (s.out != s.begin) return false;
    }
    return true;
  }
  // Bytes of the frame as data() lays it out; 0 when nothing was put.
  size_t size() const {
    if (empty()) return 0;
    uint8_t directory[kDirectoryReserve];
    size_t n = Directory(directory);
    for (const Out& s : streams_) n += static_cast<size_t>(s.out - s.begin);
    return n;
  }
  // Lays the frame out contiguously (directory, then the streams) and returns it. Seals the
  // frame: nothing may be put until Reset.
  const uint8_t* data() {
    uint8_t directory[kDirectoryReserve];
    size_t n = Directory(directory);
    uint8_t* start = streams_[0].begin - n;
    memcpy(start, directory, n);
    uint8_t* at = streams_[0].out;
    for (int i = 1; i < kStreamCount; ++i) {
      size_t length = static_cast<size_t>(streams_[i].out - streams_[i].begin);
      memmove(at, streams_[i].begin, length);
      at += length;
    }
    return start;
  }
  // Starts a new frame in the same buffer: the delta state restarts too; block numbering goes
  // on from where the last frame left it.
  void Reset() {
    for (Out& s : streams_) s.out = s.begin;
    hot_room_ = 0;
    first_seq_ = next_seq_;
    last_time_ = 0;
    last_address_ = 0;
    last_stack_ = 0;
    last_remote_seq_ = 0;
    last_local_seq_ = 0;
  }

  // Each Put* returns false, writing nothing, when the record does not fit.

  // An allocation named by block: it becomes block (thread, next_seq()). `weight` != 0 marks
  // an allocation chosen by sampling, standing for `weight` bytes.
  bool PutNextAlloc(uint64_t ns, uint64_t size, uint64_t stack, AllocKind kind, uint64_t weight = 0) {
    if (!TakeHotRoom()) return false;
    *streams_[kOpStream].out++ =
        static_cast<uint8_t>((weight != 0 ? kOpSampledAlloc : kOpAlloc) | static_cast<uint8_t>(kind));
    PutTime(ns);
    Put(kSizeStream, size);
    if (weight != 0) Put(kSizeStream, weight);
    PutStack(stack);
    ++next_seq_;
    return true;
  }
  // A free of `block`: a BlockKey, or an address.
  bool PutFreeOf(uint64_t ns, uint64_t block) {
    if (!TakeHotRoom()) return false;
    *streams_[kOpStream].out++ = kOpFree;
    PutTime(ns);
    PutRef(block);
    return true;
  }
  // A realloc of `old_block` (a BlockKey or an address): the result is block (thread,
  // next_seq()).
  bool PutReallocOf(uint64_t ns, uint64_t old_block, uint64_t size, uint64_t stack) {
    if (!TakeHotRoom()) return false;
    *streams_[kOpStream].out++ = kOpRealloc;
    PutTime(ns);
    PutRef(old_block);
    Put(kSizeStream, size);
    PutStack(stack);
    ++next_seq_;
    return true;
  }

  bool PutProcess(const ProcessRecord& r) {
    return Record(RecordType::kProcess, [&](Field& f) {
      f.U(r.pid).U(r.parent_pid).U(r.exec_generation).S(r.executable).S(r.command_line)
          .S(r.host).I(r.mpi_rank).S(r.engine).U(r.page_size).U(r.huge_page_size)
          .U(r.start_realtime_ns).U(r.start_monotonic_ns).U(r.sample_bytes);
    }, 96 + r.executable.size() + r.command_line.size() + r.host.size() + r.engine.size());
  }
  bool PutThreadStart(const ThreadRecord& r) {
    return Record(RecordType::kThreadStart, [&](Field& f) { f.T(r.timestamp_ns, this).U(r.kernel_tid); });
  }
  bool PutThreadExit(const ThreadRecord& r) {
    return Record(RecordType::kThreadExit, [&](Field& f) { f.T(r.timestamp_ns, this).U(r.kernel_tid); });
  }
  bool PutModuleLoad(const ModuleRecord& r) {
    return Record(RecordType::kModuleLoad, [&](Field& f) {
      f.T(r.timestamp_ns, this).U(r.load_address).U(r.size).S(r.path).S(r.build_id);
    }, 48 + r.path.size() + r.build_id.size());
  }
  bool PutModuleUnload(const ModuleRecord& r) {
    return Record(RecordType::kModuleUnload, [&](Field& f) {
      f.T(r.timestamp_ns, this).U(r.load_address).U(r.size).S(r.path).S(r.build_id);
    }, 48 + r.path.size() + r.build_id.size());
  }
  bool PutStackNode(const StackNodeRecord& r) {
    return Record(RecordType::kStackNode, [&](Field& f) { f.U(r.id).U(r.parent).U(r.return_address); });
  }
  // Allocations, frees and reallocs by address: blocks the recorder could not number (its
  // block map was full), and hand-built traces.
  bool PutAlloc(const AllocRecord& r) {
    return Record(RecordType::kAlloc, [&](Field& f) {
      f.T(r.timestamp_ns, this).A(r.address, this).U(r.size).St(r.stack, this).U(static_cast<uint64_t>(r.kind));
    });
  }
  bool PutSampledAlloc(const AllocRecord& r) {
    return Record(RecordType::kSampledAlloc, [&](Field& f) {
      f.T(r.timestamp_ns, this).A(r.address, this).U(r.size).St(r.stack, this).U(static_cast<uint64_t>(r.kind)).U(r.weight);
    });
  }
  bool PutFree(const FreeRecord& r) {
    return Record(RecordType::kFree, [&](Field& f) { f.T(r.timestamp_ns, this).A(r.address, this); });
  }
  bool PutRealloc(const ReallocRecord& r) {
    return Record(RecordType::kRealloc, [&](Field& f) {
      f.T(r.timestamp_ns, this).A(r.old_address, this).A(r.new_address, this).U(r.size).St(r.stack, this);
    });
  }
  bool PutMmap(const MmapRecord& r) {
    return Record(RecordType::kMmap, [&](Field& f) {
      f.T(r.timestamp_ns, this).U(r.address).U(r.length).U(r.prot).U(r.flags).I(r.fd).U(r.stack);
    });
  }
  bool PutMunmap(const MunmapRecord& r) {
    return Record(RecordType::kMunmap, [&](Field& f) { f.T(r.timestamp_ns, this).U(r.address).U(r.length); });
  }
  bool PutMremap(const MremapRecord& r) {
    return Record(RecordType::kMremap, [&](Field& f) {
      f.T(r.timestamp_ns, this).U(r.old_address).U(r.old_length).U(r.new_address).U(r.new_length);
    });
  }
  bool PutPhaseMark(const PhaseMarkRecord& r) {
    return Record(RecordType::kPhaseMark, [&](Field& f) { f.T(r.timestamp_ns, this).S(r.name); },
                  32 + r.name.size());
  }
  bool PutMemorySample(const MemorySampleRecord& r) {
    return Record(RecordType::kMemorySample, [&](Field& f) {
      f.T(r.timestamp_ns, this).U(r.rss_bytes).U(r.anon_huge_bytes).U(r.heap_huge_bytes).U(r.heap_rss_bytes);
    });
  }
  bool PutEnd(const EndRecord& r) {
    return Record(RecordType::kEnd, [&](Field& f) { f.T(r.timestamp_ns, this).I(r.exit_status); });
  }
  bool PutCapReached(const CapReachedRecord& r) {
    return Record(RecordType::kCapReached, [&](Field& f) { f.T(r.timestamp_ns, this).U(static_cast<uint64_t>(r.cap)); });
  }
  // An arbitrary record, for tests of readers facing types they do not know.
  bool PutRaw(uint32_t type, const uint8_t* payload, size_t length) {
    if (!Room(1 + 2 * kMaxVarintBytes + length, 0, 0, 0, 0)) return false;
    Out& ops = streams_[kOpStream];
    *ops.out++ = kOpRecord;
    ops.out = PutVarint(PutVarint(ops.out, type), length);
    memcpy(ops.out, payload, length);
    ops.out += length;
    hot_room_ = 0;
    return true;
  }

 private:
  // Room before the op stream for the directory: count, first block number, stream lengths.
  static constexpr size_t kDirectoryReserve = (2 + kStreamCount) * kMaxVarintBytes;
  // Writes fields into the payload area; a record's payload is at most this long unless the
  // caller says how long its strings make it.
  static constexpr size_t kFixedPayloadBound = 12 * kMaxVarintBytes;

  struct Out {
    uint8_t* begin = nullptr;
    uint8_t* end = nullptr;
    uint8_t* out = nullptr;
  };

  size_t Directory(uint8_t* out) const {
    uint8_t* p = PutVarint(PutVarint(out, kStreamCount), first_seq_);
    for (const Out& s : streams_) p = PutVarint(p, static_cast<uint64_t>(s.out - s.begin));
    return static_cast<size_t>(p - out);
  }

  // The most an allocation, a free or a realloc (the hot records) writes into each stream.
  static constexpr size_t kHotBound[kStreamCount] = {1, kMaxVarintBytes, 2 * kMaxVarintBytes,
                                                     kMaxVarintBytes, 2 * kMaxVarintBytes};
  // Room for one more hot record: one decrement of hot_room_, the hot records that surely fit,
  // recounted from the streams only when it runs out (and after any other record).
  bool TakeHotRoom() {
    if (hot_room_ == 0) [[unlikely]] {
      hot_room_ = SIZE_MAX;
      for (int i = 0; i < kStreamCount; ++i) {
        hot_room_ = std::min(hot_room_, static_cast<size_t>(streams_[i].end - streams_[i].out) / kHotBound[i]);
      }
      if (hot_room_ == 0) return false;
    }
    --hot_room_;
    return true;
  }
  bool Room(size_t ops, size_t times, size_t sizes, size_t stacks, size_t refs) const {
    const size_t need[kStreamCount] = {ops, times, sizes, stacks, refs};
    for (int i = 0; i < kStreamCount; ++i) {
      if (static_cast<size_t>(streams_[i].end - streams_[i].out) < need[i]) return false;
    }
    return true;
  }
  void Put(int stream, uint64_t v) { streams_[stream].out = PutVarint(streams_[stream].out, v); }
  void PutTime(uint64_t ns) {
    Put(kTimeStream, ZigZag(static_cast<int64_t>(ns - last_time_)));
    last_time_ = ns;
  }
  void PutStack(uint64_t stack) {
    Put(kStackStream, ZigZag(static_cast<int64_t>(stack - last_stack_)));
    last_stack_ = stack;
  }
  void PutRef(uint64_t block) {
    if (!IsBlockKey(block)) {
      Put(kRefStream, (block << 2) | kRefAddress);
      return;
    }
    uint32_t thread = BlockThread(block);
    uint64_t seq = BlockSeq(block);
    if (thread == thread_ && seq < next_seq_) {
      // Two ways to name it: how far back it was allocated (short for temporaries, constant
      // for FIFO churn), or the step from the previous local reference (constant when a batch
      // is freed in allocation order, whatever its size); the shorter is written.
      uint64_t back = next_seq_ - seq;
      uint64_t step = ZigZag(static_cast<int64_t>(seq - last_local_seq_));
      last_local_seq_ = seq;
      Put(kRefStream, step < back ? (step << 2) | kRefLocalStep : (back << 2) | kRefLocal);
      return;
    }
    Put(kRefStream, (static_cast<uint64_t>(thread) << 2) | kRefRemote);
    Put(kRefStream, ZigZag(static_cast<int64_t>(seq - last_remote_seq_)));
    last_remote_seq_ = seq;
  }

  class Field {
   public:
    explicit Field(uint8_t* out) : out_(out) {}
    Field& U(uint64_t v) {
      out_ = PutVarint(out_, v);
      return *this;
    }
    Field& I(int64_t v) { return U(ZigZag(v)); }
    Field& S(std::string_view s) {
      U(s.size());
      memcpy(out_, s.data(), s.size());
      out_ += s.size();
      return *this;
    }
    Field& T(uint64_t ns, FrameEncoder* e) {
      I(static_cast<int64_t>(ns - e->last_time_));
      e->last_time_ = ns;
      return *this;
    }
    Field& A(uint64_t address, FrameEncoder* e) {
      I(static_cast<int64_t>(address - e->last_address_));
      e->last_address_ = address;
      return *this;
    }
    Field& St(uint64_t stack, FrameEncoder* e) {
      I(static_cast<int64_t>(stack - e->last_stack_));
      e->last_stack_ = stack;
      return *this;
    }
    uint8_t* out() const { return out_; }

   private:
    uint8_t* out_;
  };

  template <typename Fill>
  bool Record(RecordType type, Fill fill, size_t payload_bound = kFixedPayloadBound) {
    // The payload is written after a maximal length prefix, then moved down to a minimal one.
    if (!Room(1 + 2 * kMaxVarintBytes + payload_bound, 0, 0, 0, 0)) return false;
    uint64_t saved_time = last_time_;
    uint64_t saved_address = last_address_;
    uint64_t saved_stack = last_stack_;
    Out& ops = streams_[kOpStream];
    uint8_t* type_end = PutVarint(ops.out + 1, static_cast<uint32_t>(type));
    uint8_t* payload = type_end + kMaxVarintBytes;
    Field f(payload);
    fill(f);
    size_t length = static_cast<size_t>(f.out() - payload);
    if (length > payload_bound) {  // a bound the caller got wrong; never write past the buffer
      last_time_ = saved_time;
      last_address_ = saved_address;
      last_stack_ = saved_stack;
      return false;
    }
    *ops.out = kOpRecord;
    uint8_t* length_end = PutVarint(type_end, length);
    memmove(length_end, payload, length);
    ops.out = length_end + length;
    hot_room_ = 0;
    return true;
  }

  uint8_t* begin_;
  uint8_t* end_;
  Out streams_[kStreamCount];
  uint32_t thread_;
  size_t hot_room_ = 0;
  uint64_t first_seq_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t last_time_ = 0;
  uint64_t last_address_ = 0;
  uint64_t last_stack_ = 0;
  uint64_t last_remote_seq_ = 0;
  uint64_t last_local_seq_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Decoding one frame's records.

// Receives decoded records. Every method has an empty default: a reader overrides what it needs.
class RecordVisitor {
 public:
  virtual ~RecordVisitor() = default;
  virtual void OnProcess(uint32_t /*thread*/, const ProcessRecord&) {}
  virtual void OnThreadStart(uint32_t /*thread*/, const ThreadRecord&) {}
  virtual void OnThreadExit(uint32_t /*thread*/, const ThreadRecord&) {}
  virtual void OnModuleLoad(uint32_t /*thread*/, const ModuleRecord&) {}
  virtual void OnModuleUnload(uint32_t /*thread*/, const ModuleRecord&) {}
  virtual void OnStackNode(uint32_t /*thread*/, const StackNodeRecord&) {}
  virtual void OnAlloc(uint32_t /*thread*/, const AllocRecord&) {}
  virtual void OnSampledAlloc(uint32_t /*thread*/, const AllocRecord&) {}
  virtual void OnFree(uint32_t /*thread*/, const FreeRecord&) {}
  virtual void OnRealloc(uint32_t /*thread*/, const ReallocRecord&) {}
  virtual void OnMmap(uint32_t /*thread*/, const MmapRecord&) {}
  virtual void OnMunmap(uint32_t /*thread*/, const MunmapRecord&) {}
  virtual void OnMremap(uint32_t /*thread*/, const MremapRecord&) {}
  virtual void OnPhaseMark(uint32_t /*thread*/, const PhaseMarkRecord&) {}
  virtual void OnMemorySample(uint32_t /*thread*/, const MemorySampleRecord&) {}
  virtual void OnEnd(uint32_t /*thread*/, const EndRecord&) {}
  virtual void OnCapReached(uint32_t /*thread*/, const CapReachedRecord&) {}
  // A record of a type this reader does not know (from a newer minor version).
  virtual void OnUnknown(uint32_t /*thread*/, uint64_t /*type*/) {}
};

// Record types a decoder met and skipped (from a newer minor version), for its caller to
// report; the first few distinct ones are kept.
struct UnknownRecordTypes {
  static constexpr int kMaxKept = 16;
  uint64_t types[kMaxKept] = {};
  int count = 0;
  void Add(uint64_t type) {
    for (int i = 0; i < count; ++i) {
      if (types[i] == type) return;
    }
    if (count < kMaxKept) types[count++] = type;
  }
};

enum class DecodeResult {
  kOk,
  kMalformed,  // a record's framing or fields are broken: the rest of the frame is unusable
};

// One decoded record of any type: `type` says which member holds it. Strings point into the
// frame's buffer. `timestamp_ns` is the record's time, or for records that carry none (stack
// nodes, the process record, unknown types) the time of the record before it in the frame,
// so ordering by it keeps each frame's order.
struct DecodedRecord {
  RecordType type = RecordType::kEnd;
  uint64_t unknown_type = 0;  // set when type is not a known RecordType
  uint64_t timestamp_ns = 0;
  ProcessRecord process;
  ThreadRecord thread;
  ModuleRecord module;
  StackNodeRecord stack_node;
  AllocRecord alloc;
  FreeRecord free;
  ReallocRecord realloc;
  MmapRecord mmap;
  MunmapRecord munmap;
  MremapRecord mremap;
  PhaseMarkRecord phase_mark;
  MemorySampleRecord memory_sample;
  EndRecord end;
  CapReachedRecord cap;
};

// Hands a decoded record to the visitor method for its type.
inline void Deliver(uint32_t thread, const DecodedRecord& r, RecordVisitor& visitor) {
  switch (r.type) {
    case RecordType::kProcess: visitor.OnProcess(thread, r.process); break;
    case RecordType::kThreadStart: visitor.OnThreadStart(thread, r.thread); break;
    case RecordType::kThreadExit: visitor.OnThreadExit(thread, r.thread); break;
    case RecordType::kModuleLoad: visitor.OnModuleLoad(thread, r.module); break;
    case RecordType::kModuleUnload: visitor.OnModuleUnload(thread, r.module); break;
    case RecordType::kStackNode: visitor.OnStackNode(thread, r.stack_node); break;
    case RecordType::kAlloc: visitor.OnAlloc(thread, r.alloc); break;
    case RecordType::kSampledAlloc: visitor.OnSampledAlloc(thread, r.alloc); break;
    case RecordType::kFree: visitor.OnFree(thread, r.free); break;
    case RecordType::kRealloc: visitor.OnRealloc(thread, r.realloc); break;
    case RecordType::kMmap: visitor.OnMmap(thread, r.mmap); break;
    case RecordType::kMunmap: visitor.OnMunmap(thread, r.munmap); break;
    case RecordType::kMremap: visitor.OnMremap(thread, r.mremap); break;
    case RecordType::kPhaseMark: visitor.OnPhaseMark(thread, r.phase_mark); break;
    case RecordType::kMemorySample: visitor.OnMemorySample(thread, r.memory_sample); break;
    case RecordType::kEnd: visitor.OnEnd(thread, r.end); break;
    case RecordType::kCapReached: visitor.OnCapReached(thread, r.cap); break;
    default: visitor.OnUnknown(thread, r.unknown_type); break;
  }
}

enum class NextResult { kRecord, kEnd, kMalformed };

// Decodes one frame record by record, so a reader can hold many frames open at once (one per
// thread, to merge them by time) with one pending record each.
class FrameDecoder {
 public:
  FrameDecoder() = default;
  // `thread`: the frame's thread, which numbers the blocks its allocations make.
  FrameDecoder(uint32_t thread, const uint8_t* data, size_t size) : thread_(thread) {
    const uint8_t* p = data;
    const uint8_t* end = data + size;
    uint64_t count, length;
    if (size == 0) return;  // an empty frame: no records
    if (!GetVarint(&p, end, &count) || count < kStreamCount || count > 64 ||
        !GetVarint(&p, end, &next_seq_)) {
      broken_ = true;
      return;
    }
    // Streams a newer minor version adds after ours are skipped whole.
    uint64_t lengths[kStreamCount] = {};
    uint64_t total = 0;
    for (uint64_t i = 0; i < count; ++i) {
      if (!GetVarint(&p, end, &length) || length > static_cast<uint64_t>(end - p)) {
        broken_ = true;
        return;
      }
      if (i < kStreamCount) lengths[i] = length;
      total += length;
    }
    if (total != static_cast<uint64_t>(end - p)) {
      broken_ = true;
      return;
    }
    for (int i = 0; i < kStreamCount; ++i) {
      streams_[i].p = p;
      streams_[i].end = p + lengths[i];
      p += lengths[i];
    }
  }

  NextResult Next(DecodedRecord* r) {
    if (broken_) return Broken();
    In& ops = streams_[kOpStream];
    if (ops.p == ops.end) return NextResult::kEnd;
    uint8_t op = *ops.p++;
    r->unknown_type = 0;
    if (op != kOpRecord) return Hot(op, r) ? NextResult::kRecord : Broken();
    uint64_t type, length;
    if (!GetVarint(&ops.p, ops.end, &type) || !GetVarint(&ops.p, ops.end, &length) ||
        length > static_cast<uint64_t>(ops.end - ops.p)) {
      return Broken();
    }
    Fields f(ops.p, ops.p + length, this);
    ops.p += length;
    r->type = static_cast<RecordType>(type);
    switch (r->type) {
      case RecordType::kProcess: {
        ProcessRecord& x = r->process;
        x.pid = f.U();
        x.parent_pid = f.U();
        x.exec_generation = f.U();
        x.executable = f.S();
        x.command_line = f.S();
        x.host = f.S();
        x.mpi_rank = f.I();
        x.engine = f.S();
        x.page_size = f.U();
        x.huge_page_size = f.U();
        x.start_realtime_ns = f.U();
        x.start_monotonic_ns = f.U();
        x.sample_bytes = f.U();
        break;
      }
      case RecordType::kThreadStart:
      case RecordType::kThreadExit:
        r->thread.timestamp_ns = f.T();
        r->thread.kernel_tid = f.U();
        break;
      case RecordType::kModuleLoad:
      case RecordType::kModuleUnload:
        r->module.timestamp_ns = f.T();
        r->module.load_address = f.U();
        r->module.size = f.U();
        r->module.path = f.S();
        r->module.build_id = f.S();
        break;
      case RecordType::kStackNode:
        r->stack_node.id = f.U();
        r->stack_node.parent = f.U();
        r->stack_node.return_address = f.U();
        break;
      case RecordType::kAlloc:
      case RecordType::kSampledAlloc:
        r->alloc.timestamp_ns = f.T();
        r->alloc.address = f.A();
        r->alloc.size = f.U();
        r->alloc.stack = f.St();
        r->alloc.kind = static_cast<AllocKind>(f.U());
        r->alloc.weight = r->type == RecordType::kSampledAlloc ? f.U() : 0;
        break;
      case RecordType::kFree:
        r->free.timestamp_ns = f.T();
        r->free.address = f.A();
        break;
      case RecordType::kRealloc:
        r->realloc.timestamp_ns = f.T();
        r->realloc.old_address = f.A();
        r->realloc.new_address = f.A();
        r->realloc.size = f.U();
        r->realloc.stack = f.St();
        break;
      case RecordType::kMmap:
        r->mmap.timestamp_ns = f.T();
        r->mmap.address = f.U();
        r->mmap.length = f.U();
        r->mmap.prot = f.U();
        r->mmap.flags = f.U();
        r->mmap.fd = f.I();
        r->mmap.stack = f.U();
        break;
      case RecordType::kMunmap:
        r->munmap.timestamp_ns = f.T();
        r->munmap.address = f.U();
        r->munmap.length = f.U();
        break;
      case RecordType::kMremap:
        r->mremap.timestamp_ns = f.T();
        r->mremap.old_address = f.U();
        r->mremap.old_length = f.U();
        r->mremap.new_address = f.U();
        r->mremap.new_length = f.U();
        break;
      case RecordType::kPhaseMark:
        r->phase_mark.timestamp_ns = f.T();
        r->phase_mark.name = f.S();
        break;
      case RecordType::kMemorySample:
        r->memory_sample.timestamp_ns = f.T();
        r->memory_sample.rss_bytes = f.U();
        r->memory_sample.anon_huge_bytes = f.U();
        r->memory_sample.heap_huge_bytes = f.U();
        r->memory_sample.heap_rss_bytes = f.U();
        break;
      case RecordType::kEnd:
        r->end.timestamp_ns = f.T();
        r->end.exit_status = f.I();
        break;
      case RecordType::kCapReached:
        r->cap.timestamp_ns = f.T();
        r->cap.cap = static_cast<Cap>(f.U());
        break;
      default:
        r->unknown_type = type;
        break;
    }
    if (!f.ok()) return Broken();
    r->timestamp_ns = time_;
    return NextResult::kRecord;
  }

 private:
  struct In {
    const uint8_t* p = nullptr;
    const uint8_t* end = nullptr;
  };

  NextResult Broken() {
    broken_ = true;
    return NextResult::kMalformed;
  }

  bool Get(int stream, uint64_t* v) { return GetVarint(&streams_[stream].p, streams_[stream].end, v); }
  bool GetTime(uint64_t* ns) {
    uint64_t v;
    if (!Get(kTimeStream, &v)) return false;
    *ns = time_ += static_cast<uint64_t>(UnZigZag(v));
    return true;
  }
  bool GetStack(uint64_t* stack) {
    uint64_t v;
    if (!Get(kStackStream, &v)) return false;
    *stack = stack_ += static_cast<uint64_t>(UnZigZag(v));
    return true;
  }
  bool GetRef(uint64_t* block) {
    uint64_t v;
    if (!Get(kRefStream, &v)) return false;
    switch (v & 3) {
      case kRefLocal:
        if ((v >> 2) == 0 || (v >> 2) > next_seq_) return false;
        local_seq_ = next_seq_ - (v >> 2);
        *block = BlockKey(thread_, local_seq_);
        return true;
      case kRefLocalStep:
        local_seq_ += static_cast<uint64_t>(UnZigZag(v >> 2));
        if (local_seq_ >= next_seq_) return false;
        *block = BlockKey(thread_, local_seq_);
        return true;
      case kRefRemote: {
        uint64_t delta;
        if ((v >> 2) > kMaxBlockThread || !Get(kRefStream, &delta)) return false;
        remote_seq_ += static_cast<uint64_t>(UnZigZag(delta));
        *block = BlockKey(static_cast<uint32_t>(v >> 2), remote_seq_);
        return true;
      }
      case kRefAddress:
        *block = v >> 2;
        return true;
    }
    return false;
  }

  // The compact records: an op byte here, their fields in the other streams.
  bool Hot(uint8_t op, DecodedRecord* r) {
    if (op == kOpFree) {
      r->type = RecordType::kFree;
      if (!GetTime(&r->free.timestamp_ns) || !GetRef(&r->free.address)) return false;
    } else if (op == kOpRealloc) {
      ReallocRecord& x = r->realloc;
      r->type = RecordType::kRealloc;
      if (!GetTime(&x.timestamp_ns) || !GetRef(&x.old_address) || !Get(kSizeStream, &x.size) ||
          !GetStack(&x.stack)) {
        return false;
      }
      x.new_address = BlockKey(thread_, next_seq_++);
    } else {
      uint8_t family = op & 0xf0;
      uint8_t kind = op & 0x0f;
      if ((family != kOpAlloc && family != kOpSampledAlloc) ||
          kind > static_cast<uint8_t>(AllocKind::kRealloc)) {
        return false;
      }
      bool sampled = family == kOpSampledAlloc;
      AllocRecord& a = r->alloc;
      r->type = sampled ? RecordType::kSampledAlloc : RecordType::kAlloc;
      a.kind = static_cast<AllocKind>(kind);
      a.weight = 0;
      if (!GetTime(&a.timestamp_ns) || !Get(kSizeStream, &a.size) ||
          (sampled && !Get(kSizeStream, &a.weight)) || !GetStack(&a.stack)) {
        return false;
      }
      a.address = BlockKey(thread_, next_seq_++);
    }
    r->timestamp_ns = time_;
    return true;
  }

  // Reads fields of one payload. Missing trailing fields (an older writer) read as 0; ok()
  // goes false on broken ones. Timestamps, addresses and stacks are deltas carried by the
  // decoder from record to record.
  class Fields {
   public:
    Fields(const uint8_t* p, const uint8_t* end, FrameDecoder* d) : p_(p), end_(end), d_(d) {}
    uint64_t U() {
      uint64_t v = 0;
      if (p_ != end_ && !GetVarint(&p_, end_, &v)) ok_ = false;
      return v;
    }
    int64_t I() { return UnZigZag(U()); }
    std::string_view S() {
      uint64_t n = U();
      if (n > static_cast<uint64_t>(end_ - p_)) {
        ok_ = false;
        return {};
      }
      std::string_view s(reinterpret_cast<const char*>(p_), n);
      p_ += n;
      return s;
    }
    uint64_t T() { return d_->time_ += static_cast<uint64_t>(I()); }
    uint64_t A() { return d_->address_ += static_cast<uint64_t>(I()); }
    uint64_t St() { return d_->stack_ += static_cast<uint64_t>(I()); }
    bool ok() const { return ok_; }

   private:
    const uint8_t* p_;
    const uint8_t* end_;
    FrameDecoder* d_;
    bool ok_ = true;
  };

  In streams_[kStreamCount];
  bool broken_ = false;
  uint32_t thread_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t remote_seq_ = 0;
  uint64_t local_seq_ = 0;
  uint64_t time_ = 0;
  uint64_t address_ = 0;
  uint64_t stack_ = 0;
};

// Decodes the records of one frame in order; skipped types go to *unknown when given.
inline DecodeResult DecodeFrame(uint32_t thread, const uint8_t* data, size_t size,
                                RecordVisitor& visitor, UnknownRecordTypes* unknown = nullptr) {
  FrameDecoder decoder(thread, data, size);
  DecodedRecord record;
  for (;;) {
    switch (decoder.Next(&record)) {
      case NextResult::kEnd:
        return DecodeResult::kOk;
      case NextResult::kMalformed:
        return DecodeResult::kMalformed;
      case NextResult::kRecord:
        if (record.unknown_type != 0 && unknown != nullptr) unknown->Add(record.unknown_type);
        Deliver(thread, record, visitor);
        break;
    }
  }
}

}  // namespace poolscope::trace_format

#endif  // POOLSCOPE_TRACE_FORMAT_H_
