// A multi-threaded C++ subject for cxx_threads.sh: 16 threads allocate blocks with every form of
// operator new, fill them with a pattern, and pass them through per-thread queues to other
// threads, which check the pattern and release them with the matching operator delete. So nearly
// every block is freed by a thread other than the one that allocated it.
//
// Output: per-thread and total checksums of everything received, and counts of misaligned or
// corrupted blocks (always 0). Every value depends only on the constants below, never on timing:
// which messages a thread receives is fixed, and checksums are sums, so arrival order is
// irrelevant.
#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kThreads = 16;
constexpr int kPerPeer = 3000;  // messages each thread sends to each other thread
constexpr int kPerThread = kPerPeer * (kThreads - 1);
constexpr size_t kAlignments[] = {32, 64, 128, 256, 512, 1024, 2048, 4096};

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

// Typed objects for the new-expression forms.
struct Plain {
  uint64_t words[5];
};
struct WithDtor {  // non-trivial destructor: new[] stores a cookie, delete[] passes the size
  uint64_t words[3];
  ~WithDtor() { words[0] = 0; }
};
template <size_t A>
struct alignas(A) Aligned {
  uint64_t words[4];
};
template <size_t A>
struct alignas(A) AlignedWithDtor {
  uint64_t words[2];
  ~AlignedWithDtor() { words[1] = 0; }
};

enum Form : int {
  kNewExpr,              // new T            / delete p          (sized delete)
  kNewArrayDtor,         // new T[n] (dtor)  / delete[] p        (sized array delete)
  kNewArrayChar,         // new char[n]      / delete[] p        (unsized array delete)
  kNewNothrowExpr,       // new (nothrow) T  / delete p
  kNewAlignedExpr,       // new Aligned<A>   / delete p          (sized aligned delete)
  kNewAlignedArray,      // new Aligned<A>[n]/ delete[] p        (aligned array delete)
  kNewAlignedArrayDtor,  // new AlignedWithDtor<A>[n] / delete[] (sized aligned array delete)
  kOpNew,                // operator new(n)                 / operator delete(p)
  kOpNewSized,           // operator new(n)                 / operator delete(p, n)
  kOpNewArray,           // operator new[](n)               / operator delete[](p)
  kOpNewArraySized,      // operator new[](n)               / operator delete[](p, n)
  kOpNewNothrow,         // operator new(n, nothrow)        / operator delete(p, nothrow)
  kOpNewArrayNothrow,    // operator new[](n, nothrow)      / operator delete[](p, nothrow)
  kOpNewAligned,         // operator new(n, al)             / operator delete(p, al)
  kOpNewAlignedSized,    // operator new(n, al)             / operator delete(p, n, al)
  kOpNewArrayAligned,    // operator new[](n, al)           / operator delete[](p, al)
  kOpNewArrayAlignedSz,  // operator new[](n, al)           / operator delete[](p, n, al)
  kOpNewAlignedNothrow,  // operator new(n, al, nothrow)    / operator delete(p, al, nothrow)
  kOpNewArrayAlNothrow,  // operator new[](n, al, nothrow)  / operator delete[](p, al, nothrow)
  kForms
};

// One block in flight between threads. The message itself is heap-allocated by the sender and
// deleted by the receiver as well.
struct Message {
  Form form;
  uint32_t sender;
  uint32_t seq;
  size_t bytes;      // payload bytes written (and checked)
  size_t count;      // array elements, or bytes for the raw forms
  size_t alignment;  // 0 for unaligned forms
  void* block;       // what operator new (or the new-expression) returned
  uint64_t* payload;
  std::string label;  // a heap-allocated string travelling along
};

// Allocates the block for message m with its form; sets payload, bytes.
void Allocate(Message& m, uint64_t r) {
  size_t n = 24 + r % 1000;  // raw size in bytes
  size_t al = m.alignment;
  switch (m.form) {
    case kNewExpr: {
      auto* p = new Plain;
      m.block = p, m.payload = p->words, m.bytes = sizeof p->words;
      break;
    }
    case kNewArrayDtor: {
      m.count = 1 + r % 40;
      auto* p = new WithDtor[m.count];
      m.block = p, m.payload = p[0].words, m.bytes = m.count * sizeof(WithDtor);
      break;
    }
    case kNewArrayChar: {
      m.count = n;
      char* p = new char[n];
      m.block = p, m.payload = reinterpret_cast<uint64_t*>(p), m.bytes = n;
      break;
    }
    case kNewNothrowExpr: {
      auto* p = new (std::nothrow) Plain;
      if (p == nullptr) std::abort();
      m.block = p, m.payload = p->words, m.bytes = sizeof p->words;
      break;
    }
    case kNewAlignedExpr:
    case kNewAlignedArray:
    case kNewAlignedArrayDtor: {
      // One alignment per template instance; the count varies.
      m.count = 1 + r % 8;
      switch (al) {
#define ALIGNED_CASE(A)                                                     \
  case A:                                                                   \
    if (m.form == kNewAlignedExpr) {                                        \
      auto* p = new Aligned<A>;                                             \
      m.block = p, m.payload = p->words, m.bytes = sizeof p->words;         \
    } else if (m.form == kNewAlignedArray) {                                \
      auto* p = new Aligned<A>[m.count];                                    \
      m.block = p, m.payload = p[0].words, m.bytes = sizeof p[0].words;     \
    } else {                                                                \
      auto* p = new AlignedWithDtor<A>[m.count];                            \
      m.block = p, m.payload = p[0].words, m.bytes = sizeof p[0].words;     \
    }                                                                       \
    break;
        ALIGNED_CASE(32)
        ALIGNED_CASE(64)
        ALIGNED_CASE(128)
        ALIGNED_CASE(256)
        ALIGNED_CASE(512)
        ALIGNED_CASE(1024)
        ALIGNED_CASE(2048)
        ALIGNED_CASE(4096)
#undef ALIGNED_CASE
        default:
          std::abort();
      }
      break;
    }
    case kOpNew:
    case kOpNewSized:
      m.block = ::operator new(n);
      break;
    case kOpNewArray:
    case kOpNewArraySized:
      m.block = ::operator new[](n);
      break;
    case kOpNewNothrow:
      m.block = ::operator new(n, std::nothrow);
      break;
    case kOpNewArrayNothrow:
      m.block = ::operator new[](n, std::nothrow);
      break;
    case kOpNewAligned:
    case kOpNewAlignedSized:
      m.block = ::operator new(n, std::align_val_t{al});
      break;
    case kOpNewArrayAligned:
    case kOpNewArrayAlignedSz:
      m.block = ::operator new[](n, std::align_val_t{al});
      break;
    case kOpNewAlignedNothrow:
      m.block = ::operator new(n, std::align_val_t{al}, std::nothrow);
      break;
    case kOpNewArrayAlNothrow:
      m.block = ::operator new[](n, std::align_val_t{al}, std::nothrow);
      break;
    default:
      std::abort();
  }
  if (m.form >= kOpNew) {
    if (m.block == nullptr) std::abort();
    m.count = n;
    m.payload = static_cast<uint64_t*>(m.block);
    m.bytes = n;
  }
}

void Release(Message& m) {
  size_t n = m.count;
  size_t al = m.alignment;
  switch (m.form) {
    case kNewExpr:
    case kNewNothrowExpr:
      delete static_cast<Plain*>(m.block);
      break;
    case kNewArrayDtor:
      delete[] static_cast<WithDtor*>(m.block);
      break;
    case kNewArrayChar:
      delete[] static_cast<char*>(m.block);
      break;
    case kNewAlignedExpr:
    case kNewAlignedArray:
    case kNewAlignedArrayDtor:
      switch (al) {
#define ALIGNED_CASE(A)                                        \
  case A:                                                      \
    if (m.form == kNewAlignedExpr) {                           \
      delete static_cast<Aligned<A>*>(m.block);                \
    } else if (m.form == kNewAlignedArray) {                   \
      delete[] static_cast<Aligned<A>*>(m.block);              \
    } else {                                                   \
      delete[] static_cast<AlignedWithDtor<A>*>(m.block);      \
    }                                                          \
    break;
        ALIGNED_CASE(32)
        ALIGNED_CASE(64)
        ALIGNED_CASE(128)
        ALIGNED_CASE(256)
        ALIGNED_CASE(512)
        ALIGNED_CASE(1024)
        ALIGNED_CASE(2048)
        ALIGNED_CASE(4096)
#undef ALIGNED_CASE
        default:
          std::abort();
      }
      break;
    case kOpNew:
      ::operator delete(m.block);
      break;
    case kOpNewSized:
      ::operator delete(m.block, n);
      break;
    case kOpNewArray:
      ::operator delete[](m.block);
      break;
    case kOpNewArraySized:
      ::operator delete[](m.block, n);
      break;
    case kOpNewNothrow:
      ::operator delete(m.block, std::nothrow);
      break;
    case kOpNewArrayNothrow:
      ::operator delete[](m.block, std::nothrow);
      break;
    case kOpNewAligned:
      ::operator delete(m.block, std::align_val_t{al});
      break;
    case kOpNewAlignedSized:
      ::operator delete(m.block, n, std::align_val_t{al});
      break;
    case kOpNewArrayAligned:
      ::operator delete[](m.block, std::align_val_t{al});
      break;
    case kOpNewArrayAlignedSz:
      ::operator delete[](m.block, n, std::align_val_t{al});
      break;
    case kOpNewAlignedNothrow:
      ::operator delete(m.block, std::align_val_t{al}, std::nothrow);
      break;
    case kOpNewArrayAlNothrow:
      ::operator delete[](m.block, std::align_val_t{al}, std::nothrow);
      break;
    default:
      std::abort();
  }
}

bool IsAlignedForm(Form f) {
  return f == kNewAlignedExpr || f == kNewAlignedArray || f == kNewAlignedArrayDtor ||
         f == kOpNewAligned || f == kOpNewAlignedSized || f == kOpNewArrayAligned ||
         f == kOpNewArrayAlignedSz || f == kOpNewAlignedNothrow || f == kOpNewArrayAlNothrow;
}

struct Queue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Message*> items;
};

Queue queues[kThreads];

struct Result {
  uint64_t checksum = 0;
  uint64_t received = 0;
  uint64_t misaligned = 0;
  uint64_t corrupted = 0;
  uint64_t per_form[kForms] = {};
};
Result results[kThreads];

void Fill(Message& m) {
  uint64_t seed = Mix((uint64_t{m.sender} << 32) | m.seq);
  unsigned char* bytes = reinterpret_cast<unsigned char*>(m.payload);
  for (size_t i = 0; i < m.bytes; ++i) bytes[i] = static_cast<unsigned char>(Mix(seed + i / 8) >> (8 * (i % 8)));
}

void Check(const Message& m, Result& r) {
  uint64_t seed = Mix((uint64_t{m.sender} << 32) | m.seq);
  const unsigned char* bytes = reinterpret_cast<const unsigned char*>(m.payload);
  uint64_t sum = 0;
  for (size_t i = 0; i < m.bytes; ++i) {
    unsigned char want = static_cast<unsigned char>(Mix(seed + i / 8) >> (8 * (i % 8)));
    if (bytes[i] != want) {
      ++r.corrupted;
      break;
    }
    sum = sum * 131 + bytes[i];
  }
  if (m.alignment != 0 && reinterpret_cast<uintptr_t>(m.payload) % m.alignment != 0) ++r.misaligned;
  // new T[n] of a type with a destructor returns a pointer past the array cookie.
  if (m.alignment == 0 && m.form != kNewArrayDtor &&
      reinterpret_cast<uintptr_t>(m.block) % alignof(std::max_align_t) != 0) {
    ++r.misaligned;
  }
  std::string expect = "from " + std::to_string(m.sender) + " #" + std::to_string(m.seq);
  if (m.label != expect) ++r.corrupted;
  r.checksum += Mix(sum ^ m.bytes) + m.label.size();
  r.per_form[m.form]++;
  r.received++;
}

void Drain(int self, bool block, Result& r) {
  Queue& q = queues[self];
  std::deque<Message*> got;
  {
    std::unique_lock<std::mutex> lock(q.mu);
    if (block) q.cv.wait(lock, [&] { return !q.items.empty(); });
    got.swap(q.items);
  }
  for (Message* m : got) {
    Check(*m, r);
    Release(*m);
    delete m;
  }
}

void Worker(int self) {
  Result& r = results[self];
  std::map<int, std::vector<std::unique_ptr<std::string>>> scratch;  // thread-local churn
  for (uint32_t seq = 0; seq < static_cast<uint32_t>(kPerThread); ++seq) {
    uint64_t rnd = Mix((uint64_t{static_cast<uint32_t>(self)} << 40) ^ seq);
    auto* m = new Message;
    m->sender = self;
    m->seq = seq;
    m->form = static_cast<Form>(rnd % kForms);
    m->alignment = IsAlignedForm(m->form) ? kAlignments[(rnd >> 8) % std::size(kAlignments)] : 0;
    m->label = "from " + std::to_string(self) + " #" + std::to_string(seq);
    Allocate(*m, rnd >> 16);
    Fill(*m);
    int to = (self + 1 + static_cast<int>(seq % (kThreads - 1))) % kThreads;
    {
      std::lock_guard<std::mutex> lock(queues[to].mu);
      queues[to].items.push_back(m);
    }
    queues[to].cv.notify_one();
    auto& bucket = scratch[static_cast<int>(rnd % 7)];
    bucket.push_back(std::make_unique<std::string>(rnd % 300, static_cast<char>('a' + seq % 26)));
    if (bucket.size() > 20) bucket.erase(bucket.begin(), bucket.begin() + 10);
    if (seq % 16 == 0) Drain(self, false, r);
  }
  while (r.received < static_cast<uint64_t>(kPerThread)) Drain(self, true, r);
}

}  // namespace

int main() {
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(Worker, i);
  for (auto& t : threads) t.join();
  uint64_t total = 0, received = 0, misaligned = 0, corrupted = 0;
  uint64_t per_form[kForms] = {};
  for (int i = 0; i < kThreads; ++i) {
    const Result& r = results[i];
    printf("thread %2d: received %llu checksum %016llx\n", i,
           static_cast<unsigned long long>(r.received), static_cast<unsigned long long>(r.checksum));
    total += r.checksum;
    received += r.received;
    misaligned += r.misaligned;
    corrupted += r.corrupted;
    for (int f = 0; f < kForms; ++f) per_form[f] += r.per_form[f];
  }
  printf("forms:");
  for (int f = 0; f < kForms; ++f) printf(" %llu", static_cast<unsigned long long>(per_form[f]));
  printf("\n");
  printf("received %llu misaligned %llu corrupted %llu total %016llx\n",
         static_cast<unsigned long long>(received), static_cast<unsigned long long>(misaligned),
         static_cast<unsigned long long>(corrupted), static_cast<unsigned long long>(total));
  return misaligned == 0 && corrupted == 0 && received == uint64_t{kThreads} * kPerThread ? 0 : 1;
}
