#include "trace/recorder.h"
#include "common/raw_syscalls.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <new>
#include <utility>

#include "common/log.h"
#include "common/biased_lock.h"
#include "common/spinlock.h"
#include "trace/block_map.h"
#include "trace/clock.h"
#include "trace/output_path.h"
#include "trace/sampler.h"
#include "trace/stack_cache.h"
#include "trace/stack_table.h"
#include "trace/trace_file.h"
#include "trace/unwinder.h"

extern "C" void* __libc_stack_end;

namespace poolscope::trace {

bool recording = false;
bool sampling = false;
std::atomic<uint8_t> sampled_filter[kSampledFilterCounters];

namespace {

namespace tf = trace_format;

constexpr size_t kBufferBytes = size_t{256} << 10;
constexpr size_t kProcessBufferBytes = size_t{64} << 10;
constexpr int kMaxThreads = 4096;
constexpr size_t kMaxStackNodes = size_t{1} << 22;
constexpr size_t kMaxNumberedBlocks = size_t{1} << 25;
constexpr int kFlushIntervalMs = 250;
constexpr int kFirstRoundMs = 110;
constexpr int kHugePageSampleEvery = 4;  // flusher rounds between smaps_rollup reads
constexpr int kMaxModules = 2048;
constexpr size_t kModulePathBytes = 512;
constexpr size_t kMaxBuildId = 40;

// Set while this thread runs recorder code: anything it allocates is not an event.
__thread int inside_recorder __attribute__((tls_model("initial-exec"))) = 0;

class RecorderScope {
 public:
  RecorderScope() { ++inside_recorder; }
  ~RecorderScope() { --inside_recorder; }
};

constinit TscClock event_clock;

// Rounded down to 1024 ns: events closer than that share a timestamp, and a run of them
// encodes as zero deltas, which compress to almost nothing.
uint64_t NowNs() { return event_clock.Now() & ~uint64_t{1023}; }

void* MapZeroed(size_t size) {
  void* p = common::RawMmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

// One per recording thread, in memory mapped for it and reused after the thread exits.
struct ThreadState {
  explicit ThreadState(uint8_t* memory) : encoder(memory, kBufferBytes), pending(nullptr, 0) {}

  // Taken by the thread itself on every event, by others only to flush its buffer.
  common::BiasedLock lock;
  uint32_t id = 0;
  uint64_t kernel_tid = 0;
  uint64_t file_generation = 0;  // the file its ThreadStart went to
  tf::FrameEncoder encoder;
  // A full frame handed to the flusher to compress and write, so the thread goes on at once
  // in its other buffer; `spare` is that other buffer while nothing is pending. Both change
  // under r.write_lock (and the thread's lock to hand a frame off).
  tf::FrameEncoder pending;
  std::atomic<bool> has_pending{false};
  uint8_t* spare = nullptr;  // mapped at the first hand-off
  ByteSampler sampler;
  bool sampler_started = false;  // its first gap is drawn at its first allocation
  // The last clock reading, and how many of the next allocations and frees take it as theirs
  // (EventTime).
  uint64_t last_event_ns = 0;
  uint32_t clock_skips_left = 0;
  int last_depth = 0;  // the previous stack, whose outer nodes the next one may share
  uintptr_t last_frames[common::kMaxStackDepth] = {};
  uint64_t last_nodes[common::kMaxStackDepth] = {};
  StackCache stack_cache;  // only its thread reads or fills it
};

struct Module {
  uint64_t base;
  uint64_t size;
  char path[kModulePathBytes];
  uint8_t build_id[kMaxBuildId];
  uint32_t build_id_size;
  bool seen;  // in the latest scan
};

struct Recorder {
  common::TraceMode mode = common::TraceMode::kOff;
  uint64_t sample_bytes = 0;
  uint64_t sample_seed = 0;
  int stack_depth = 0;
  char output_template[common::kMaxOutputTemplate] = {};
  char engine[16] = {};
  char path[PATH_MAX] = {};

  // The file, opened lazily by the first write of each process (fork children start their
  // own). Identity is checked before each write: the program may close or dup2 over the fd.
  common::SpinLock write_lock;
  TraceFileWriter* writer = nullptr;
  alignas(TraceFileWriter) char writer_storage[sizeof(TraceFileWriter)] = {};
  int fd = -1;
  dev_t device = 0;
  ino_t inode = 0;
  uint64_t file_generation = 0;  // +1 per file this recorder opens (fork children)
  uint64_t exec_generation = 0;
  bool failed = false;

  common::SpinLock process_lock;  // the process-level (thread 0) encoder
  uint8_t* process_buffer = nullptr;
  alignas(tf::FrameEncoder) char process_encoder_storage[sizeof(tf::FrameEncoder)] = {};
  tf::FrameEncoder* process_encoder = nullptr;

  common::SpinLock slots_lock;
  ThreadState* slots[kMaxThreads] = {};
  bool slot_in_use[kMaxThreads] = {};
  // In use by a thread that has run OnThreadExit: free again once the kernel has it gone.
  bool slot_exited[kMaxThreads] = {};
  std::atomic<uint32_t> next_thread_id{1};
  bool thread_cap_reported = false;
  pthread_key_t thread_key = 0;

  StackTable stacks;
  BlockTagSlotOf tag_slot_of = nullptr;
  SampledBlockMover move_sampled = nullptr;
  BlockMap blocks;
  std::atomic<bool> block_cap_reported{false};
  // +1 whenever the table is emptied (a fork child's new file must get every node again), so
  // the threads' cached stack ids of the old table are never used.
  uint32_t stack_generation = 1;
  std::atomic<bool> stack_cap_reported{false};

  Module* modules = nullptr;
  int module_count = 0;

  std::atomic<bool> flusher_running{false};
  std::atomic<bool> flusher_wanted{false};  // a fork child starts its own at its first event
  bool stop_flusher = false;  // under flusher_mutex
  bool handed_off = false;    // under flusher_mutex: a thread handed a frame off
  pthread_mutex_t flusher_mutex = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t flusher_wake = PTHREAD_COND_INITIALIZER;
  pthread_t flusher = 0;

  uint64_t pid = 0;  // a vfork child shares our memory but has another pid: it must not write
  uint64_t start_realtime_ns = 0;
  uint64_t start_monotonic_ns = 0;
  std::atomic<bool> exit_status_known{false};
  int exit_status = 0;
  std::atomic<bool> finished{false};
};

// Constant-initialised: Start may run (inside the first malloc) before any constructor.
constinit Recorder r;
__thread ThreadState* thread_state __attribute__((tls_model("initial-exec"))) = nullptr;

void StopRecording(const char* why, int error) {
  if (!recording) return;
  recording = false;
  r.failed = true;
  common::LogLine("cannot write the trace %s (%s: %s); recording stopped, the program goes on",
                  r.path, why, strerror(error));
}

// ---------------------------------------------------------------------------------------------
// The file.

void WriteProcessRecordLocked();
void WriteModulesLocked();

// Picks the path and creates the file: mode 0600, never following a symlink, never
// overwriting. The same pid after exec finds its earlier file and takes the next generation.
bool OpenFileLocked() {
  char host[256] = "unknown";
  gethostname(host, sizeof(host) - 1);
  OutputFacts facts{static_cast<uint64_t>(getpid()), MpiRankFromEnvironment(), host,
                    r.start_realtime_ns / 1000000000};
  char base[PATH_MAX];
  if (!ExpandOutputPath(r.output_template, facts, base, sizeof(base))) {
    common::LogLine("POOLSCOPE_OUTPUT expands to a path that is too long; recording is off");
    return false;
  }
  int fd = -1;
  for (uint64_t generation = 0; generation < 1000; ++generation) {
    if (generation == 0) {
      common::Format(r.path, sizeof(r.path), "%s", base);
    } else {
      common::Format(r.path, sizeof(r.path), "%s.%llu", base,
                     static_cast<unsigned long long>(generation));
    }
    fd = open(r.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
      r.exec_generation = generation;
      break;
    }
    if (errno != EEXIST) break;
  }
  if (fd < 0) {
    common::LogLine("cannot create the trace %s: %s; recording is off", r.path, strerror(errno));
    return false;
  }
  // Far from the low numbers programs close, dup2 over and hand to children.
  struct rlimit limit;
  int high = 1000;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 1064) {
    high = static_cast<int>(limit.rlim_cur) > 64 ? static_cast<int>(limit.rlim_cur) - 32 : 3;
  }
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, high);
  if (moved >= 0) {
    close(fd);
    fd = moved;
  }
  struct stat st;
  fstat(fd, &st);
  r.fd = fd;
  r.device = st.st_dev;
  r.inode = st.st_ino;
  r.writer = new (r.writer_storage) TraceFileWriter();
  if (!r.writer->Open(fd)) {
    StopRecording("writing the header", errno);
    return false;
  }
  ++r.file_generation;
  WriteProcessRecordLocked();
  WriteModulesLocked();
  return true;
}

// Set on the flusher thread, which never reopens the file (below).
__thread bool on_flusher_thread __attribute__((tls_model("initial-exec"))) = false;

enum class FileState { kOurs, kNotNow, kLost };

// The fd still names our file; a program that closed it or dup2'd something over it gets its
// own bytes left alone, and we reopen ours by path. Only from the program's own threads: the
// reopened file comes to the lowest free descriptor until it is moved high, and a program
// thread calling dup2 meanwhile could get that descriptor closed under it. A program that
// rearranges its descriptors does so from its own threads, so the reopen waits for one of them
// (the next full buffer, or the end); the flusher leaves its round's buffers where they are.
FileState FileStillOursLocked() {
  struct stat st;
  if (fstat(r.fd, &st) == 0 && st.st_dev == r.device && st.st_ino == r.inode) return FileState::kOurs;
  if (on_flusher_thread) return FileState::kNotNow;
  int fd = open(r.path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return FileState::kLost;
  if (fstat(fd, &st) != 0 || st.st_dev != r.device || st.st_ino != r.inode) {
    close(fd);
    errno = ESTALE;  // the path now names another file
    return FileState::kLost;
  }
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, r.fd > 3 ? r.fd : 3);
  if (moved >= 0) {
    close(fd);
    fd = moved;
  }
  r.fd = fd;
  r.writer->set_fd(fd);
  return FileState::kOurs;
}

// Writes the encoder's frame, after which the caller resets it; false when the frame must stay
// in its buffer for a later write (the flusher found the descriptor taken).
bool WriteFrameLocked(uint32_t thread, tf::FrameEncoder& encoder) {
  if (!recording || encoder.empty()) return true;
  if (r.writer == nullptr && !OpenFileLocked()) {
    recording = false;
    return true;
  }
  switch (FileStillOursLocked()) {
    case FileState::kOurs:
      break;
    case FileState::kNotNow:
      return false;
    case FileState::kLost:
      StopRecording("the program took over its descriptor and it cannot be reopened", errno);
      return true;
  }
  size_t size = encoder.size();
  if (!r.writer->WriteFrame(thread, encoder.data(), size)) StopRecording("write failed", errno);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Process-level records (thread 0).

template <typename Put>
void PutProcessLevel(Put put) {
  common::SpinLockGuard guard(r.process_lock);
  if (!put(*r.process_encoder)) {
    {
      common::SpinLockGuard write(r.write_lock);
      if (!WriteFrameLocked(0, *r.process_encoder)) return;  // this record is dropped
    }
    r.process_encoder->Reset();
    put(*r.process_encoder);
  }
}

void FlushProcessLevelLocked() {
  if (WriteFrameLocked(0, *r.process_encoder)) r.process_encoder->Reset();
}

size_t ReadSmallFile(const char* path, char* buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t got = read(fd, buf + n, cap - 1 - n);
    if (got <= 0) break;
    n += static_cast<size_t>(got);
  }
  close(fd);
  buf[n] = '\0';
  return n;
}

// Written directly into a frame of its own, ahead of everything else in the file.
void WriteProcessRecordLocked() {
  static char exe[PATH_MAX];
  static char command_line[4096];
  static char host[256];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  exe[n > 0 ? n : 0] = '\0';
  size_t args = ReadSmallFile("/proc/self/cmdline", command_line, sizeof(command_line));
  if (args > 0 && command_line[args - 1] == '\0') --args;
  gethostname(host, sizeof(host) - 1);
  const char* rank = MpiRankFromEnvironment();
  tf::ProcessRecord p;
  p.pid = static_cast<uint64_t>(getpid());
  p.parent_pid = static_cast<uint64_t>(getppid());
  p.exec_generation = r.exec_generation;
  p.executable = exe;
  p.command_line = std::string_view(command_line, args);
  p.host = host;
  p.mpi_rank = rank != nullptr ? strtoll(rank, nullptr, 10) : -1;
  p.engine = r.engine;
  p.page_size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  p.huge_page_size = size_t{2} << 20;
  p.start_realtime_ns = r.start_realtime_ns;
  p.start_monotonic_ns = r.start_monotonic_ns;
  p.sample_bytes = r.mode == common::TraceMode::kSampled ? r.sample_bytes : 0;
  // Static (callers hold the write lock): inside malloc the stack may be small.
  static uint8_t buffer[sizeof(exe) + sizeof(command_line) + 512];
  tf::FrameEncoder encoder(buffer, sizeof(buffer), 0, tf::FrameEncoder::Layout::kRecordsOnly);
  encoder.PutProcess(p);
  if (!r.writer->WriteFrame(0, encoder.data(), encoder.size())) StopRecording("write failed", errno);
}

void WriteModulesLocked() {
  static uint8_t buffer[kModulePathBytes + kMaxBuildId + 256];  // under the write lock
  uint64_t now = NowNs();
  for (int i = 0; i < r.module_count; ++i) {
    const Module& m = r.modules[i];
    tf::FrameEncoder encoder(buffer, sizeof(buffer), 0, tf::FrameEncoder::Layout::kRecordsOnly);
    encoder.PutModuleLoad({now, m.base, m.size, m.path,
                           std::string_view(reinterpret_cast<const char*>(m.build_id),
                                            m.build_id_size)});
    // Modules written at file creation go out as one small frame each: rare, and it keeps
    // this path free of the process encoder's lock.
    if (!r.writer->WriteFrame(0, encoder.data(), encoder.size())) {
      StopRecording("write failed", errno);
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Modules: listed with dl_iterate_phdr (only ever from the constructor or the flusher thread,
// never under our locks: it takes the loader's lock, which an allocating dlopen may hold).

struct ModuleScan {
  Module found[kMaxModules];
  int count;
};

int CollectModule(struct dl_phdr_info* info, size_t, void* data) {
  auto* scan = static_cast<ModuleScan*>(data);
  if (scan->count >= kMaxModules) return 1;
  Module& m = scan->found[scan->count];
  m = Module{};
  uint64_t low = UINT64_MAX, high = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_LOAD) {
      low = ph.p_vaddr < low ? ph.p_vaddr : low;
      high = ph.p_vaddr + ph.p_memsz > high ? ph.p_vaddr + ph.p_memsz : high;
    } else if (ph.p_type == PT_NOTE) {
      auto* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
      const char* end = p + ph.p_memsz;
      while (p + sizeof(ElfW(Nhdr)) <= end) {
        auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
        const char* name = p + sizeof(*note);
        const char* desc = name + ((note->n_namesz + 3) & ~3u);
        if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
            note->n_descsz <= kMaxBuildId) {
          memcpy(m.build_id, desc, note->n_descsz);
          m.build_id_size = note->n_descsz;
        }
        p = desc + ((note->n_descsz + 3) & ~3u);
      }
    }
  }
  m.base = info->dlpi_addr;
  // Everything the object maps lies in [base, base + size): readers need only the one range.
  m.size = high > low ? high : 0;
  const char* name = info->dlpi_name;
  if (name == nullptr || name[0] == '\0') {
    // The main program: its path is /proc/self/exe.
    ssize_t n = readlink("/proc/self/exe", m.path, sizeof(m.path) - 1);
    m.path[n > 0 ? n : 0] = '\0';
  } else {
    common::Format(m.path, sizeof(m.path), "%s", name);
  }
  if (m.size > 0) ++scan->count;
  return 0;
}

// Compares the loaded modules with the last scan and records what changed.
void ScanModules() {
  static ModuleScan scan;  // only the constructor and then the flusher thread call this
  scan.count = 0;
  dl_iterate_phdr(CollectModule, &scan);
  uint64_t now = NowNs();
  for (int i = 0; i < r.module_count; ++i) r.modules[i].seen = false;
  for (int i = 0; i < scan.count; ++i) {
    Module& m = scan.found[i];
    bool known = false;
    for (int j = 0; j < r.module_count && !known; ++j) {
      if (r.modules[j].base == m.base && strcmp(r.modules[j].path, m.path) == 0) {
        r.modules[j].seen = known = true;
      }
    }
    if (known || r.module_count >= kMaxModules) continue;
    m.seen = true;
    r.modules[r.module_count++] = m;
    PutProcessLevel([&](tf::FrameEncoder& e) {
      return e.PutModuleLoad({now, m.base, m.size, m.path,
                              std::string_view(reinterpret_cast<const char*>(m.build_id),
                                               m.build_id_size)});
    });
  }
  for (int i = 0; i < r.module_count;) {
    Module& m = r.modules[i];
    if (m.seen) {
      ++i;
      continue;
    }
    PutProcessLevel([&](tf::FrameEncoder& e) {
      return e.PutModuleUnload({now, m.base, m.size, m.path, {}});
    });
    r.modules[i] = r.modules[--r.module_count];
  }
}

// ---------------------------------------------------------------------------------------------
// Threads.

bool HasFrames(const ThreadState* t) {
  return !t->encoder.empty() || t->has_pending.load(std::memory_order_relaxed);
}

// The pending frame is written (or was the parent's, in a fork child): its buffer is the
// spare again.
void DropPending(ThreadState* t) {
  t->spare = t->pending.buffer();
  t->has_pending.store(false, std::memory_order_relaxed);
}

// The frame the thread handed off, written before anything newer of the thread; false when
// it must wait (the flusher found the descriptor taken).
bool WritePendingLocked(ThreadState* t) {
  if (!t->has_pending.load(std::memory_order_relaxed)) return true;
  if (!WriteFrameLocked(t->pending.thread(), t->pending)) return false;
  DropPending(t);
  return true;
}

void WakeFlusherForHandOff() {
  pthread_mutex_lock(&r.flusher_mutex);
  r.handed_off = true;
  pthread_cond_signal(&r.flusher_wake);
  pthread_mutex_unlock(&r.flusher_mutex);
}

// Moves the thread's full frame to `pending` and its encoder to the spare buffer. Only while
// the flusher runs to write it, and never in a fork child before its flusher started.
bool HandOffLocked(ThreadState* t) {
  if (!r.flusher_running.load(std::memory_order_relaxed) || t->has_pending.load(std::memory_order_relaxed)) {
    return false;
  }
  if (t->spare == nullptr && (t->spare = static_cast<uint8_t*>(MapZeroed(kBufferBytes))) == nullptr) {
    return false;
  }
  t->pending = t->encoder;
  t->has_pending.store(true, std::memory_order_relaxed);
  uint64_t next_seq = t->encoder.next_seq();
  t->encoder = tf::FrameEncoder(t->spare, kBufferBytes, t->id);
  t->encoder.set_next_seq(next_seq);
  t->spare = nullptr;
  return true;
}

enum class FlushMode { kWrite, kHandOff };

// Writes the thread's frames (its lock held): the pending one first, then the current one,
// which the thread itself may hand off to the flusher instead when its buffer is full.
void FlushThreadLocked(ThreadState* t, FlushMode mode = FlushMode::kWrite) {
  if (!HasFrames(t)) return;
  bool handed_off;
  {
    common::SpinLockGuard write(r.write_lock);
    if (!WritePendingLocked(t)) return;
    handed_off = mode == FlushMode::kHandOff && HandOffLocked(t);
    if (!handed_off) {
      if (!WriteFrameLocked(t->id, t->encoder)) return;
      t->encoder.Reset();
    }
  }
  if (handed_off) WakeFlusherForHandOff();
}

// The flusher's answer to a hand-off.
void WriteHandedOff() {
  common::SpinLockGuard write(r.write_lock);
  for (ThreadState* t : r.slots) {
    if (t != nullptr) WritePendingLocked(t);
  }
}

// The thread's key destructor. Other destructors may run after it (other keys', libc's own
// clean-up) and allocate or free: they still record into this thread's state, which is why
// its slot is not given up here but once the thread is gone (ReclaimSlotOfGoneThread). Giving
// it up here made each such late event start a second state for the thread, and one started
// after the last destructor round kept its slot for good.
void OnThreadExit(void* value) {
  auto* t = static_cast<ThreadState*>(value);
  RecorderScope scope;
  t->lock.LockAsOwner();
  if (recording) t->encoder.PutThreadExit({NowNs(), t->kernel_tid});
  FlushThreadLocked(t);
  t->lock.UnlockAsOwner();
  common::SpinLockGuard guard(r.slots_lock);
  for (int i = 0; i < kMaxThreads; ++i) {
    if (r.slots[i] == t) r.slot_exited[i] = true;
  }
}

// Whether the thread with kernel id `tid` has ended (errno is the program's: kept).
bool ThreadGone(uint64_t tid) {
  int saved_errno = errno;
  bool gone = syscall(SYS_tgkill, static_cast<pid_t>(r.pid), static_cast<pid_t>(tid), 0) != 0 &&
              errno == ESRCH;
  errno = saved_errno;
  return gone;
}

// Under slots_lock: the state of a thread gone after OnThreadExit, still marked in use and now
// the caller's, or null. Only the first few exited slots are asked, so a program with many
// threads in their exit path makes no thread start slow; in the usual churn the slot found is
// that of the thread joined just before.
ThreadState* ReclaimSlotOfGoneThread() {
  int asked = 0;
  for (int i = 0; i < kMaxThreads && asked < 8; ++i) {
    if (!r.slot_in_use[i] || !r.slot_exited[i]) continue;
    ++asked;
    if (!ThreadGone(r.slots[i]->kernel_tid)) continue;
    r.slot_exited[i] = false;
    return r.slots[i];
  }
  return nullptr;
}

void StartFlusher();

// The cache needs the bounds of the thread's stack. The main thread's ends at the loader's
// __libc_stack_end and reaches down as far as its rlimit lets it grow.
void ResetStackCache(ThreadState* t) {
  uintptr_t low = 0, high = 0;
  if (t->kernel_tid == static_cast<uint64_t>(getpid())) {
    struct rlimit limit;
    uintptr_t size = getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
                         ? limit.rlim_cur
                         : uintptr_t{1} << 30;
    high = reinterpret_cast<uintptr_t>(__libc_stack_end);
    low = high > size ? high - size : 0;
  } else {
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      void* address = nullptr;
      size_t size = 0;
      if (pthread_attr_getstack(&attr, &address, &size) == 0) {
        low = reinterpret_cast<uintptr_t>(address);
        high = low + size;
      }
      pthread_attr_destroy(&attr);
    }
  }
  t->stack_cache.Reset(low, high);
}

ThreadState* StateForThisThread() {
  if (r.flusher_wanted.load(std::memory_order_relaxed)) [[unlikely]] {
    r.flusher_wanted.store(false);
    StartFlusher();
  }
  if (thread_state != nullptr) [[likely]] return thread_state;
  ThreadState* t = nullptr;
  ThreadState* reclaimed = nullptr;
  {
    common::SpinLockGuard guard(r.slots_lock);
    t = reclaimed = ReclaimSlotOfGoneThread();
    for (int i = 0; i < kMaxThreads && t == nullptr; ++i) {
      if (r.slot_in_use[i]) continue;
      if (r.slots[i] == nullptr) {
        auto* memory = static_cast<ThreadState*>(MapZeroed(sizeof(ThreadState)));
        auto* buffer = static_cast<uint8_t*>(MapZeroed(kBufferBytes));
        if (memory == nullptr || buffer == nullptr) break;
        r.slots[i] = new (memory) ThreadState(buffer);
      }
      r.slot_in_use[i] = true;
      t = r.slots[i];
    }
    if (t == nullptr) {
      if (!r.thread_cap_reported) {
        r.thread_cap_reported = true;
        PutProcessLevel([](tf::FrameEncoder& e) {
          return e.PutCapReached({NowNs(), tf::Cap::kThreadCount});
        });
      }
      return nullptr;
    }
  }
  if (reclaimed != nullptr) {
    // What its thread recorded after its exit is still in the buffer.
    t->lock.Lock();
    FlushThreadLocked(t);
    t->lock.Unlock();
  }
  t->id = r.next_thread_id.fetch_add(1, std::memory_order_relaxed);
  t->kernel_tid = static_cast<uint64_t>(syscall(SYS_gettid));
  t->file_generation = 0;
  t->encoder.set_thread(t->id);
  t->encoder.Reset();
  t->encoder.set_next_seq(0);
  t->last_depth = 0;
  ResetStackCache(t);
  t->sampler.Init(r.sample_bytes, r.sample_seed ^ (t->id * 0x9e3779b97f4a7c15ULL));
  t->sampler_started = false;
  thread_state = t;
  pthread_setspecific(r.thread_key, t);
  return t;
}

// Emits ThreadStart into the thread's buffer the first time it records into this file.
inline void EnsureThreadStartedLocked(ThreadState* t, uint64_t now) {
  if (t->file_generation == r.file_generation + 1) [[likely]] return;
  t->file_generation = r.file_generation + 1;
  if (!t->encoder.PutThreadStart({now, t->kernel_tid})) {
    FlushThreadLocked(t, FlushMode::kHandOff);
    t->encoder.PutThreadStart({now, t->kernel_tid});
  }
}

// ---------------------------------------------------------------------------------------------
// Stacks.

// The text of libpoolscope itself, whose frames never appear in recorded stacks.
uintptr_t own_text_begin = 0;
uintptr_t own_text_end = 0;

void FindOwnText() {
  TextOf(reinterpret_cast<const void*>(&FindOwnText), &own_text_begin, &own_text_end);
}

// Captures the caller's stack and returns its node id, emitting new nodes into the thread's
// buffer (its lock held, so nodes always precede the event naming them).
uint64_t InternStackLocked(ThreadState* t, const uintptr_t* frames, int depth) {
  // Reuse the nodes of the outer frames this stack shares with the thread's previous one.
  int shared = 0;
  while (shared < depth && shared < t->last_depth &&
         frames[depth - 1 - shared] == t->last_frames[t->last_depth - 1 - shared]) {
    ++shared;
  }
  uint64_t nodes[common::kMaxStackDepth];
  for (int i = 0; i < shared; ++i) {
    nodes[depth - 1 - i] = t->last_nodes[t->last_depth - 1 - i];
  }
  uint64_t parent = shared > 0 ? nodes[depth - shared] : 0;
  for (int i = depth - 1 - shared; i >= 0; --i) {
    bool created;
    uint64_t id = r.stacks.Intern(parent, frames[i], &created);
    if (id == 0) {
      if (!r.stack_cap_reported.exchange(true)) {
        PutProcessLevel([](tf::FrameEncoder& e) {
          return e.PutCapReached({NowNs(), tf::Cap::kStackTable});
        });
      }
      t->last_depth = 0;
      return 0;
    }
    if (created && !t->encoder.PutStackNode({id, parent, frames[i]})) {
      FlushThreadLocked(t, FlushMode::kHandOff);
      t->encoder.PutStackNode({id, parent, frames[i]});
    }
    nodes[i] = id;
    parent = id;
  }
  memcpy(t->last_frames, frames, sizeof(uintptr_t) * depth);
  memcpy(t->last_nodes, nodes, sizeof(uint64_t) * depth);
  t->last_depth = depth;
  return depth > 0 ? nodes[0] : 0;
}

// The stack of the call being recorded: an id from the thread's cache, or the frames to
// intern. Frames in libpoolscope itself are dropped wherever they are: the entry point and
// the recorder on top, and the wrapper around main (process_api.cc) at the bottom.
struct CallStack {
  uintptr_t sp = 0;  // the recording function's frame: the cache's key
  uint64_t id = 0;
  int depth = 0;
  uintptr_t frames[common::kMaxStackDepth];
};

void CaptureCallerStack(ThreadState* t, uintptr_t sp, CallStack* stack) {
  stack->sp = sp;
  stack->id = t->stack_cache.Find(sp, r.stack_generation);
  if (stack->id != 0) return;
  uintptr_t raw[common::kMaxStackDepth + 16];
  int n = CaptureStack(raw, r.stack_depth + 16);
  int depth = 0;
  for (int i = 0; i < n && depth < r.stack_depth; ++i) {
    if (raw[i] < own_text_begin || raw[i] >= own_text_end) stack->frames[depth++] = raw[i];
  }
  stack->depth = depth;
}

// Under the thread's lock, so the nodes precede the event naming them.
uint64_t StackIdLocked(ThreadState* t, CallStack* stack) {
  if (stack->id == 0 && stack->depth > 0) {
    stack->id = InternStackLocked(t, stack->frames, stack->depth);
    t->stack_cache.Remember(stack->sp, stack->frames, stack->depth, stack->id, r.stack_generation);
  }
  return stack->id;
}

// ---------------------------------------------------------------------------------------------
// Blocks.

bool InOurOwnProcessForCrash() { return static_cast<uint64_t>(getpid()) == r.pid; }

// Sampled mode: the counting filter (recorder.h) in front of the block map, so a free whose
// address has a zero counter is known unsampled from one load — the answer for almost every
// free. False when the counter is saturated: the sample is dropped.
bool MarkSampled(uintptr_t p) {
  std::atomic<uint8_t>& counter = sampled_filter[SampledFilterSlot(p)];
  if (counter.load(std::memory_order_relaxed) == UINT8_MAX) return false;
  counter.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void UnmarkSampled(uintptr_t p) {
  sampled_filter[SampledFilterSlot(p)].fetch_sub(1, std::memory_order_relaxed);
}

void NoteBlockCap() {
  if (!r.block_cap_reported.exchange(true)) {
    PutProcessLevel([](tf::FrameEncoder& e) { return e.PutCapReached({NowNs(), tf::Cap::kBlockMap}); });
  }
}

// A block the engine keeps a word for has its key there: found by arithmetic and accessed
// with no lock and no atomic operation (the block map takes a shard's lock each way). The
// word is the live block's alone, its allocating thread writes it before the pointer reaches
// the program, and its freeing thread takes it before the engine can hand the block out again
// (frees are recorded before the release, reallocs take a ticket): the program's
// synchronisation that passed the pointer between them orders the two, and the engine's own
// orders a free before the block's reuse. Other blocks go in the block map.
uint64_t* TagSlotOf(uintptr_t p) {
  return r.tag_slot_of != nullptr ? r.tag_slot_of(reinterpret_cast<const void*>(p)) : nullptr;
}

// False when the block map is at its cap, or out of memory.
bool KeepBlockKey(uintptr_t p, uint64_t key) {
  if (uint64_t* tag = TagSlotOf(p)) {
    *tag = key;
    return true;
  }
  return r.blocks.Insert(p, key);
}

// 0 when `p` has none.
uint64_t TakeBlockKey(uintptr_t p) {
  if (uint64_t* tag = TagSlotOf(p)) return std::exchange(*tag, 0);
  return r.blocks.Take(p);
}

// Gives the block at `p` the number the encoder's next allocation will take; false (the cap
// noted once) when the map has no room: the block is then recorded by address.
bool NumberBlock(ThreadState* t, const tf::FrameEncoder& e, uintptr_t p) {
  if (KeepBlockKey(p, tf::BlockKey(t->id, e.next_seq()))) return true;
  NoteBlockCap();
  return false;
}

// An allocation's record: by block number when the map takes it, else by address.
bool PutAllocation(ThreadState* t, tf::FrameEncoder& e, uintptr_t p, uint64_t now, uint64_t size,
                   uint64_t stack, tf::AllocKind kind, uint64_t weight) {
  if (NumberBlock(t, e, p)) return e.PutNextAlloc(now, size, stack, kind, weight);
  tf::AllocRecord a{now, p, size, stack, kind, weight};
  return weight != 0 ? e.PutSampledAlloc(a) : e.PutAlloc(a);
}

// ---------------------------------------------------------------------------------------------
// Flushing.

void FlushEveryThread() {
  for (int i = 0; i < kMaxThreads; ++i) {
    ThreadState* t = r.slots[i];
    if (t == nullptr) continue;
    t->lock.Lock();
    FlushThreadLocked(t);
    t->lock.Unlock();
  }
  common::SpinLockGuard guard(r.process_lock);
  common::SpinLockGuard write(r.write_lock);
  FlushProcessLevelLocked();
}

void SampleMemory(bool with_huge_pages) {
  char text[4096];
  tf::MemorySampleRecord s{};
  s.timestamp_ns = NowNs();
  if (ReadSmallFile("/proc/self/statm", text, sizeof(text)) > 0) {
    // statm: total pages, then resident pages.
    char* resident = nullptr;
    strtoull(text, &resident, 10);
    s.rss_bytes = strtoull(resident, nullptr, 10) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  }
  // smaps_rollup walks every page table of the process, so it is read every few rounds only;
  // the samples in between repeat the last reading (a reader cannot tell "not measured" from 0).
  static uint64_t anon_huge_bytes = 0;
  if (with_huge_pages && ReadSmallFile("/proc/self/smaps_rollup", text, sizeof(text)) > 0) {
    if (const char* line = strstr(text, "AnonHugePages:")) {
      anon_huge_bytes = strtoull(line + strlen("AnonHugePages:"), nullptr, 10) * 1024;
    }
  }
  s.anon_huge_bytes = anon_huge_bytes;
  PutProcessLevel([&](tf::FrameEncoder& e) { return e.PutMemorySample(s); });
}

struct timespec NextRoundDeadline(long ms) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_nsec += ms * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1000000000L;
  }
  return deadline;
}

enum class Wake { kStop, kRound, kHandOff };

// Sleeps until `deadline`, a thread's hand-off, or Finish asking it to stop.
Wake WaitForWork(const struct timespec& deadline) {
  pthread_mutex_lock(&r.flusher_mutex);
  while (!r.stop_flusher && !r.handed_off &&
         pthread_cond_timedwait(&r.flusher_wake, &r.flusher_mutex, &deadline) == 0) {
  }
  Wake wake = r.stop_flusher ? Wake::kStop : r.handed_off ? Wake::kHandOff : Wake::kRound;
  r.handed_off = false;
  pthread_mutex_unlock(&r.flusher_mutex);
  return wake;
}

void* FlusherMain(void*) {
  RecorderScope scope;  // its own allocations (none expected) are never events
  on_flusher_thread = true;
  // The first round comes early: it fits the event clock to the TSC (clock.h), which a short
  // program would otherwise never get.
  struct timespec deadline = NextRoundDeadline(kFirstRoundMs);
  for (int round = 0;;) {
    Wake wake = WaitForWork(deadline);
    if (wake == Wake::kStop) break;
    if (wake == Wake::kHandOff) {
      WriteHandedOff();
      continue;
    }
    deadline = NextRoundDeadline(kFlushIntervalMs);
    if (!recording) continue;
    event_clock.Calibrate();
    ScanModules();
    SampleMemory(round++ % kHugePageSampleEvery == 0);
    FlushEveryThread();
  }
  return nullptr;
}

// A fatal signal with the default disposition: write what can be written without waiting for
// any lock (the crashing thread may hold one), then die of the same signal.
constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

// Takes `lock` if it comes free within a short while, unless this very thread holds it (a
// signal handler interrupted the holder): then waiting would never end.
bool LockBriefly(common::SpinLock& lock) {
  if (lock.HeldByCurrentThread()) return false;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    if (lock.TryLock()) return true;
    sched_yield();
  }
  return false;
}

// Writes what can be written without waiting long for any lock: the caller may be a signal
// handler that interrupted a holder. Whatever a lock kept busy guards is left unwritten.
void FlushWithoutWaiting() {
  if (!recording || !InOurOwnProcessForCrash() || !LockBriefly(r.write_lock)) return;
  // WriteFrameLocked opens the file if this process has not yet (a fork child's first write).
  for (int i = 0; i < kMaxThreads; ++i) {
    ThreadState* t = r.slots[i];
    if (t == nullptr || !HasFrames(t)) continue;
    // The thread's own slot is free to take unless the signal interrupted its event.
    if (t == thread_state && t->lock.owner_busy()) continue;
    if (!t->lock.TryLock(/*patience=*/1000)) continue;
    if (WritePendingLocked(t) && WriteFrameLocked(t->id, t->encoder)) t->encoder.Reset();
    t->lock.Unlock();
  }
  if (LockBriefly(r.process_lock)) {
    if (WriteFrameLocked(0, *r.process_encoder)) r.process_encoder->Reset();
    r.process_lock.Unlock();
  }
  r.write_lock.Unlock();
}

void OnFatalSignal(int sig) {
  ++inside_recorder;
  FlushWithoutWaiting();
  signal(sig, SIG_DFL);
  raise(sig);  // a fault re-executes anyway; raise covers abort and kill
}

// Only where the program left the default: a program that handles a fatal signal itself
// keeps doing so, and one that installs a handler later replaces ours.
void InstallCrashFlush() {
  for (int sig : kFatalSignals) {
    struct sigaction current;
    if (sigaction(sig, nullptr, &current) != 0 || current.sa_handler != SIG_DFL ||
        (current.sa_flags & SA_SIGINFO) != 0) {
      continue;
    }
    struct sigaction flush {};
    flush.sa_handler = OnFatalSignal;
    flush.sa_flags = SA_NODEFER | SA_RESETHAND;
    sigemptyset(&flush.sa_mask);
    sigaction(sig, &flush, nullptr);
  }
}

void StartFlusher() {
  bool expected = false;
  if (!r.flusher_running.compare_exchange_strong(expected, true)) return;
  RecorderScope scope;
  // The flusher blocks every signal: programs that route signals with sigwait or signalfd
  // must never see it take one.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  r.stop_flusher = false;
  if (pthread_create(&r.flusher, nullptr, FlusherMain, nullptr) != 0) {
    r.flusher_running.store(false);
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

void Start(const common::Config& config, const char* engine_name, BlockTagSlotOf tag_slot_of,
           SampledBlockMover move_sampled) {
  if (config.trace == common::TraceMode::kOff) return;
  RecorderScope scope;
  r.mode = config.trace;
  r.tag_slot_of = tag_slot_of;
  r.move_sampled = move_sampled;
  r.pid = static_cast<uint64_t>(getpid());
  {
    char source[64];
    event_clock.Start(ReadSmallFile("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                                    source, sizeof(source)) > 0 &&
                      strcmp(source, "tsc\n") == 0);
  }
  r.sample_bytes = config.sample_bytes;
  r.sample_seed = static_cast<uint64_t>(NowNs()) ^ static_cast<uint64_t>(getpid());
  if (const char* seed = getenv("POOLSCOPE_SAMPLE_SEED")) r.sample_seed = strtoull(seed, nullptr, 10);
  r.stack_depth = static_cast<int>(config.stack_depth);
  memcpy(r.output_template, config.output, sizeof(r.output_template));
  common::Format(r.engine, sizeof(r.engine), "%s", engine_name);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  r.start_realtime_ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000 + static_cast<uint64_t>(ts.tv_nsec);
  r.start_monotonic_ns = NowNs();
  r.process_buffer = static_cast<uint8_t*>(MapZeroed(kProcessBufferBytes));
  r.modules = static_cast<Module*>(MapZeroed(sizeof(Module) * kMaxModules));
  r.blocks.Init(kMaxNumberedBlocks);
  if (r.process_buffer == nullptr || r.modules == nullptr ||
      !r.stacks.Init(kMaxStackNodes) || pthread_key_create(&r.thread_key, OnThreadExit) != 0) {
    common::LogLine("cannot set up the recorder (out of memory); recording is off");
    return;
  }
  r.process_encoder = new (r.process_encoder_storage) tf::FrameEncoder(r.process_buffer, kProcessBufferBytes, 0, tf::FrameEncoder::Layout::kRecordsOnly);
  FindOwnText();
  common::UseAsymmetricLocks();
  sampling = r.mode == common::TraceMode::kSampled;
  recording = true;
}

// The file is created only once libzstd is loaded: writing it compresses. Until then events
// wait in their threads' buffers; a thread whose buffer fills before our constructor runs
// opens the file itself (WriteFrameLocked), loading libzstd inside malloc after all.
void StartBackgroundWork() {
  if (!recording) return;
  RecorderScope scope;
  if (const char* why = LoadCompressor()) {
    common::LogLine("cannot load libzstd to compress the trace (%s); recording is off", why);
    recording = false;
    return;
  }
  {
    common::SpinLockGuard write(r.write_lock);
    if (r.writer == nullptr && !OpenFileLocked()) recording = false;
  }
  if (!recording) return;
  LoadUnwinder();
  ScanModules();
  InstallCrashFlush();
  StartFlusher();
}

// Writes one event into this thread's buffer, under its lock: the thread's start record first
// if this file has not seen it, then the stack nodes `frames` needs (when given), then the
// record `put` builds from the encoder, the time and the stack id; a full buffer is flushed
// and the record written again.
template <typename Put>
void WriteEvent(ThreadState* t, uint64_t now, CallStack* call_stack, Put put) {
  // A later reading (another event's: an exact free, an mmap) ends a run of skipped readings
  // (EventTime): nothing after it in the thread may carry an earlier time.
  if (now > t->last_event_ns) {
    t->last_event_ns = now;
    t->clock_skips_left = 0;
  }
  t->lock.LockAsOwner();
  if (recording) [[likely]] {
    EnsureThreadStartedLocked(t, now);
    uint64_t stack = call_stack != nullptr ? StackIdLocked(t, call_stack) : 0;
    if (!put(t->encoder, now, stack)) {
      FlushThreadLocked(t, FlushMode::kHandOff);
      put(t->encoder, now, stack);
    }
  }
  t->lock.UnlockAsOwner();
}

// The time of an allocation or a free. Reading the clock (rdtsc: a quarter of a traced small
// churn's time) is skipped for the next kClockSkips of them once two readings in a row fall in
// the same 1024 ns tick: the skipped events then carry the last reading, which is their own
// time to within that tick, as rounding makes it anyway, and their order is their thread's
// order in the file. Only a thread that stops within such a run (a sleep, a blocking call) can
// give up to kClockSkips events after the stop the time before it. No other thread's event is
// ordered against these by time alone: frees of other threads' blocks, blocks known by address
// and reallocs read the clock every time.
constexpr uint32_t kClockSkips = 15;

uint64_t EventTime(ThreadState* t) {
  if (t->clock_skips_left != 0) {
    --t->clock_skips_left;
    return t->last_event_ns;
  }
  uint64_t now = NowNs();
  if (now == t->last_event_ns) t->clock_skips_left = kClockSkips;
  t->last_event_ns = now;
  return now;
}

// The common case of WriteEvent for events without a stack, outside any other recorder call,
// at the time `time(thread state)` gives.
template <typename Put, typename Time>
void RecordInThisThread(Put put, Time time) {
  if (inside_recorder != 0) return;
  RecorderScope scope;
  if (ThreadState* t = StateForThisThread()) WriteEvent(t, time(t), nullptr, put);
}

// The same at the clock's time, as most events take it.
template <typename Put>
void RecordInThisThread(Put put) {
  RecordInThisThread(put, [](ThreadState*) { return NowNs(); });
}

}  // namespace poolscope::trace

void poolscope::SampleCountdownRanOut(size_t size) {
  if (trace::recording && trace::sampling) {
    fast_thread.sample_countdown += static_cast<int64_t>(size);  // the generic path charges it
  } else {
    fast_thread.sample_countdown = kNeverSample;
  }
}

namespace poolscope::trace {

void* RecordAlloc(void* p, size_t size, tf::AllocKind kind, size_t alignment) {
  if (inside_recorder != 0 || p == nullptr) return p;
  RecorderScope scope;
  ThreadState* t = StateForThisThread();
  if (t == nullptr) return p;
  uint64_t weight = 0;
  if (sampling) {
    // The inline countdown (SkipUnsampledAllocation) ran out on this allocation.
    int64_t& countdown = fast_thread.sample_countdown;
    if (!t->sampler_started) {
      // A thread's first allocation: its countdown had not been drawn yet.
      t->sampler_started = true;
      countdown += t->sampler.NextGap();
      if (countdown > 0) return p;
    }
    weight = t->sampler.TakeSample(countdown, size);
    bool keep_contents = kind == tf::AllocKind::kCalloc || kind == tf::AllocKind::kRealloc;
    void* moved = r.move_sampled != nullptr ? r.move_sampled(p, size, alignment, keep_contents) : p;
    // Unmoved, the block's free would not be seen: better one sample lost than a leak shown.
    if (moved == nullptr) return p;
    p = moved;
    if (!MarkSampled(reinterpret_cast<uintptr_t>(p))) return p;
  }
  CallStack call_stack;
  CaptureCallerStack(t, reinterpret_cast<uintptr_t>(__builtin_frame_address(0)), &call_stack);
  // Past the block map's cap, blocks are known by address: their time orders them against
  // other threads' frees of the same address.
  uint64_t time = r.block_cap_reported.load(std::memory_order_relaxed) ? NowNs() : EventTime(t);
  WriteEvent(t, time, &call_stack, [&](tf::FrameEncoder& e, uint64_t now, uint64_t stack) {
    return PutAllocation(t, e, reinterpret_cast<uintptr_t>(p), now, size, stack, kind, weight);
  });
  return p;
}

namespace {

// `block`: the key the block map held, or the address of a block it never numbered.
void WriteFree(uint64_t block) {
  RecordInThisThread(
      [&](tf::FrameEncoder& e, uint64_t now, uint64_t) { return e.PutFreeOf(now, block); },
      [&](ThreadState* t) {
        bool own = tf::IsBlockKey(block) && tf::BlockThread(block) == t->id && t->id != 0;
        return own ? EventTime(t) : NowNs();
      });
}

// The key of the block at `p`, taken; in sampled mode 0 unless the block was sampled.
uint64_t TakeBlock(uintptr_t p) {
  uint64_t block = TakeBlockKey(p);
  if (sampling && block != 0) UnmarkSampled(p);
  return block;
}

}  // namespace

bool RecordFree(void* p) {
  if (inside_recorder != 0 || p == nullptr) return false;
  auto address = reinterpret_cast<uintptr_t>(p);
  uint64_t block = TakeBlock(address);
  if (sampling && block == 0) return false;
  WriteFree(block != 0 ? block : address);
  return sampling;
}

ReallocTicket BeginRealloc(void* old_p) {
  if (inside_recorder != 0 || (sampling && SkipUnsampledFree(old_p))) return {0, NowNs()};
  return {TakeBlock(reinterpret_cast<uintptr_t>(old_p)), NowNs()};
}

void* EndRealloc(void* old_p, const ReallocTicket& ticket, void* new_p, size_t size) {
  if (inside_recorder != 0) return new_p;
  auto old_address = reinterpret_cast<uintptr_t>(old_p);
  if (new_p == nullptr && size != 0) {
    // Failed: the old block lives on, under its old name.
    if (ticket.block != 0 && KeepBlockKey(old_address, ticket.block) && sampling) {
      MarkSampled(old_address);
    }
    return new_p;
  }
  uint64_t old_block = ticket.block != 0 ? ticket.block : old_address;
  if (sampling || new_p == nullptr) {
    // realloc(p, 0) is a free; sampling sees a realloc as a free and a new allocation.
    if (!sampling || ticket.block != 0) WriteFree(old_block);
    if (new_p != nullptr && !SkipUnsampledAllocation(size)) {
      return RecordAlloc(new_p, size, tf::AllocKind::kRealloc, alignof(std::max_align_t));
    }
    return new_p;
  }
  RecorderScope scope;
  ThreadState* t = StateForThisThread();
  if (t == nullptr) return new_p;
  CallStack call_stack;
  CaptureCallerStack(t, reinterpret_cast<uintptr_t>(__builtin_frame_address(0)), &call_stack);
  auto new_address = reinterpret_cast<uintptr_t>(new_p);
  WriteEvent(t, ticket.started_ns, &call_stack, [&](tf::FrameEncoder& e, uint64_t now, uint64_t stack) {
    if (NumberBlock(t, e, new_address)) return e.PutReallocOf(now, old_block, size, stack);
    return e.PutRealloc({now, old_block, new_address, size, stack});
  });
  return new_p;
}

void RecordMmap(void* p, size_t length, int prot, int flags, int fd) {
  if (inside_recorder != 0) return;
  RecorderScope scope;
  ThreadState* t = StateForThisThread();
  if (t == nullptr) return;
  CallStack call_stack;
  CaptureCallerStack(t, reinterpret_cast<uintptr_t>(__builtin_frame_address(0)), &call_stack);
  WriteEvent(t, NowNs(), &call_stack, [&](tf::FrameEncoder& e, uint64_t now, uint64_t stack) {
    return e.PutMmap({now, reinterpret_cast<uint64_t>(p), length, static_cast<uint64_t>(prot),
                      static_cast<uint64_t>(flags), fd, stack});
  });
}

void RecordMunmap(void* p, size_t length) {
  RecordInThisThread([&](tf::FrameEncoder& e, uint64_t now, uint64_t) {
    return e.PutMunmap({now, reinterpret_cast<uint64_t>(p), length});
  });
}

void RecordMremap(void* old_p, size_t old_length, void* new_p, size_t new_length) {
  RecordInThisThread([&](tf::FrameEncoder& e, uint64_t now, uint64_t) {
    return e.PutMremap({now, reinterpret_cast<uint64_t>(old_p), old_length,
                        reinterpret_cast<uint64_t>(new_p), new_length});
  });
}

void RecordMark(const char* name) {
  if (!recording || name == nullptr) return;
  RecorderScope scope;
  uint64_t now = NowNs();
  // The thread's next allocation or free reads the clock: a window between marks must not
  // take in an event after it (in the same tick, the reading equals the mark's time).
  if (ThreadState* t = StateForThisThread()) {
    t->last_event_ns = now;
    t->clock_skips_left = 0;
  }
  PutProcessLevel([&](tf::FrameEncoder& e) { return e.PutPhaseMark({now, name}); });
}

void FlushAll() {
  if (!recording) return;
  RecorderScope scope;
  FlushEveryThread();
}

void NoteExitStatus(int status) {
  r.exit_status = status;
  r.exit_status_known.store(true, std::memory_order_release);
}

bool InOurOwnProcess() { return static_cast<uint64_t>(getpid()) == r.pid; }

void Finish() {
  if (!recording || !InOurOwnProcess() || r.finished.exchange(true)) return;
  RecorderScope scope;
  if (r.flusher_running.load()) {
    pthread_mutex_lock(&r.flusher_mutex);
    r.stop_flusher = true;
    pthread_cond_signal(&r.flusher_wake);
    pthread_mutex_unlock(&r.flusher_mutex);
    pthread_join(r.flusher, nullptr);
    r.flusher_running.store(false);
  }
  uint64_t now = NowNs();
  int64_t status = r.exit_status_known.load(std::memory_order_acquire) ? r.exit_status : -1;
  PutProcessLevel([&](tf::FrameEncoder& e) { return e.PutEnd({now, status}); });
  FlushEveryThread();
}

void FinishWithoutWaiting() {
  if (!recording || !InOurOwnProcess() || r.finished.exchange(true)) return;
  RecorderScope scope;
  int64_t status = r.exit_status_known.load(std::memory_order_acquire) ? r.exit_status : -1;
  if (LockBriefly(r.process_lock)) {
    r.process_encoder->PutEnd({NowNs(), status});
    r.process_lock.Unlock();
  }
  FlushWithoutWaiting();
}

void BeforeExec() {
  if (!recording || !InOurOwnProcess()) return;
  RecorderScope scope;
  FlushEveryThread();
}

void ForkPrepare() {
  if (!recording) return;
  // First: a thread inside libunwind may need the engine's locks (for libunwind's own
  // allocations), which the engine's ForkPrepare takes after this.
  UnwinderForkPrepare();
  r.process_lock.LockForFork();
  r.write_lock.LockForFork();
  r.blocks.LockForFork();
}

void ForkParent() {
  if (!recording) return;
  UnwinderForkParent();
  r.blocks.AfterForkInParent();
  r.write_lock.Unlock();
  r.process_lock.Unlock();
}

// The child owns nothing it inherited: not the parent's buffers (their events are the
// parent's), not its file, not its threads. It starts its own file at its first write.
void ForkChild() {
  if (!recording) return;
  UnwinderForkChild();
  r.write_lock.ResetInChild();
  r.process_lock.ResetInChild();
  r.slots_lock.ResetInChild();
  // A new process: its membarrier registration is its own to make (or to fail).
  if (common::asymmetric_locks) common::UseAsymmetricLocks();
  r.stacks.ClearInChild();
  ++r.stack_generation;
  r.blocks.ResetInChild();
  r.process_encoder->Reset();
  for (int i = 0; i < kMaxThreads; ++i) {
    if (r.slots[i] == nullptr) continue;
    r.slots[i]->lock.ResetInChild();
    r.slots[i]->encoder.Reset();
    if (r.slots[i]->has_pending.load(std::memory_order_relaxed)) DropPending(r.slots[i]);
    r.slots[i]->last_depth = 0;
    r.slot_in_use[i] = r.slots[i] == thread_state;
    r.slot_exited[i] = false;
  }
  if (thread_state != nullptr) thread_state->kernel_tid = static_cast<uint64_t>(syscall(SYS_gettid));
  r.pid = static_cast<uint64_t>(getpid());
  if (r.fd >= 0) close(r.fd);
  r.fd = -1;
  r.writer = nullptr;
  r.flusher_running.store(false);
  r.flusher_wanted.store(true);
  r.flusher_mutex = PTHREAD_MUTEX_INITIALIZER;
  r.flusher_wake = PTHREAD_COND_INITIALIZER;
  r.handed_off = false;
  r.finished.store(false);
  r.exit_status_known.store(false);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  r.start_realtime_ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000 + static_cast<uint64_t>(ts.tv_nsec);
  r.start_monotonic_ns = NowNs();
}

const char* TracePath() { return r.path; }

void Untraced(void (*fn)(void*), void* context) {
  RecorderScope scope;
  fn(context);
}

}  // namespace poolscope::trace
