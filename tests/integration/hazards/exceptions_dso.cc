// A C++ library a C program dlopens. Its exceptions are allocated with __cxa_allocate_exception
// (malloc), carry heap-allocated strings, and unwind with the program's unwinder: the preloaded
// library must neither break allocation on those paths nor take over _Unwind_* (DESIGN.md, the
// recorder's libunwind must stay private). Its new-handlers run in the library's operator new,
// which finds this library's libstdc++ only in its local scope. Entry points are extern "C".
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <atomic>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// Where results of new go, so GCC cannot elide a new/delete pair (and with it the failure).
char* volatile sink;

struct Failure {
  int code;
  std::string what;  // a heap string travelling inside the exception object
};

struct Counted {
  static inline std::atomic<int> live{0};
  std::vector<int> payload = std::vector<int>(100, 7);
  Counted() { ++live; }
  ~Counted() { --live; }
};

int ThrowAndCatchOnce(int i) {
  try {
    Counted guard;  // destroyed while unwinding
    switch (i % 5) {
      case 0:
        throw std::runtime_error("runtime error number " + std::to_string(i) +
                                 " with a message long enough to need the heap");
      case 1:
        throw Failure{i, std::string(200, 'x')};
      case 2:
        throw std::vector<int>(static_cast<size_t>(i) + 1, i);
      case 3: {
        // Throwing operator new of an impossible size: std::bad_alloc from the allocator.
        volatile size_t huge = SIZE_MAX / 2;
        sink = new char[huge];
        delete[] sink;
        return -1000;
      }
      default:
        throw i;
    }
  } catch (const std::runtime_error& e) {
    return static_cast<int>(strlen(e.what()) > 40);
  } catch (const Failure& f) {
    return static_cast<int>(f.code == i && f.what.size() == 200);
  } catch (const std::vector<int>& v) {
    return static_cast<int>(v.size() == static_cast<size_t>(i) + 1 && v.back() == i);
  } catch (const std::bad_alloc&) {
    return 1;
  } catch (int value) {
    return static_cast<int>(value == i);
  }
}

void* ThrowInThread(void* arg) {
  int n = static_cast<int>(reinterpret_cast<intptr_t>(arg));
  intptr_t ok = 0;
  for (int i = 0; i < n; ++i) ok += ThrowAndCatchOnce(i);
  return reinterpret_cast<void*>(ok);
}

int handler_calls;

// Gives up on its third call, so throwing new throws and nothrow new returns null.
void HandlerThatUninstallsItself() {
  if (++handler_calls == 3) std::set_new_handler(nullptr);
}

void HandlerThatThrows() {
  ++handler_calls;
  throw std::bad_alloc();
}

// What a new of an impossible size does with `handler` installed ("thrown" or "null") and how
// often the handler ran.
std::string FailedNewWith(std::new_handler handler, bool nothrow, bool aligned) {
  volatile size_t huge = SIZE_MAX / 2;
  handler_calls = 0;
  std::set_new_handler(handler);
  std::string outcome;
  try {
    if (aligned) {
      sink = static_cast<char*>(nothrow ? operator new(huge, std::align_val_t{64}, std::nothrow)
                                        : operator new(huge, std::align_val_t{64}));
    } else {
      sink = nothrow ? new (std::nothrow) char[huge] : new char[huge];
    }
    outcome = sink == nullptr ? "null" : "allocated";
  } catch (const std::bad_alloc&) {
    outcome = "thrown";
  }
  std::set_new_handler(nullptr);
  return outcome + " after " + std::to_string(handler_calls) + " handler calls";
}

}  // namespace

extern "C" {

// Throws and catches n exceptions of assorted kinds inside the library; returns how many were
// caught with intact contents.
int exc_throw_and_catch(int n) {
  int ok = 0;
  for (int i = 0; i < n; ++i) ok += ThrowAndCatchOnce(i);
  return Counted::live == 0 ? ok : -1;
}

// nothrow new of an impossible size returns null instead of throwing.
int exc_nothrow_new_fails(void) {
  volatile size_t huge = SIZE_MAX / 2;
  sink = new (std::nothrow) char[huge];
  bool null = sink == nullptr;
  delete[] sink;
  return null;
}

// The same from `threads` threads at once: exception objects allocated concurrently.
int exc_throw_in_threads(int threads, int n) {
  std::vector<pthread_t> ids(static_cast<size_t>(threads));
  for (pthread_t& t : ids) {
    pthread_create(&t, nullptr, ThrowInThread, reinterpret_cast<void*>(static_cast<intptr_t>(n)));
  }
  int ok = 0;
  for (pthread_t t : ids) {
    void* r;
    pthread_join(t, &r);
    ok += static_cast<int>(reinterpret_cast<intptr_t>(r));
  }
  return ok;
}

// Called back by the C program's callback: throws through the C frame above it.
int exc_thrower(int value) {
  if (value % 3 == 0) throw Failure{value, "thrown from C++ below a C frame " + std::to_string(value)};
  if (value % 3 == 1) throw std::out_of_range(std::string(300, 'o'));
  return value * 2;
}

typedef int (*c_callback)(int (*thrower)(int), int value);

// C++ -> C callback -> C++ thrower; the exception crosses the C frame and is caught here.
// Returns a code describing what was caught.
int exc_through_c(c_callback callback, int value) {
  Counted guard;
  try {
    int r = callback(exc_thrower, value);
    return 1000 + r;
  } catch (const Failure& f) {
    return f.code == value && f.what.find("below a C frame") != std::string::npos ? 1 : -1;
  } catch (const std::out_of_range& e) {
    return strlen(e.what()) == 300 ? 2 : -2;
  }
}

// The new-handler loop of throwing and nothrow new, plain and aligned, with a handler that
// gives up and one that throws: one line per case into `out`.
void exc_new_handler_loop(char* out, size_t size) {
  std::string lines;
  for (bool aligned : {false, true}) {
    for (bool nothrow : {false, true}) {
      for (std::new_handler handler : {HandlerThatUninstallsItself, HandlerThatThrows}) {
        lines += std::string(nothrow ? "nothrow" : "throwing") + (aligned ? " aligned" : "") +
                 (handler == HandlerThatThrows ? ", handler throws: " : ", handler gives up: ") +
                 FailedNewWith(handler, nothrow, aligned) + "\n";
      }
    }
  }
  snprintf(out, size, "%s", lines.c_str());
}

}  // extern "C"
