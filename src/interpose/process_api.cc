// Process lifetime entry points, wrapped for the recorder: how the program ends (its exit
// status, and a last flush on _exit, which skips destructors) and exec (which kills the flusher
// thread and replaces the image: buffered events are written first). Each forwards to glibc's
// definition, found with dlsym(RTLD_NEXT), and behaves exactly as it when recording is off.
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>

#include "interpose/export.h"
#include "interpose/runtime.h"
#include "trace/recorder.h"

namespace {

// glibc's definitions, looked up once at start-up (ResolveProcessFunctions): a dlsym made
// later would clear an error the program left pending for dlerror().
enum Function { kStartMain, kExit, kUnderscoreExit, kExecve, kExecv, kExecvp, kExecvpe, kFexecve, kCount };
constexpr const char* kNames[kCount] = {"__libc_start_main", "exit", "_exit", "execve",
                                        "execv", "execvp", "execvpe", "fexecve"};
std::atomic<void*> next_functions[kCount];

template <typename Fn>
Fn Next(Function f) {
  void* fn = next_functions[f].load(std::memory_order_acquire);
  if (fn == nullptr) {
    fn = dlsym(RTLD_NEXT, kNames[f]);
    next_functions[f].store(fn, std::memory_order_release);
  }
  return reinterpret_cast<Fn>(fn);
}

using MainFn = int (*)(int, char**, char**);
MainFn program_main = nullptr;

int MainReturningStatus(int argc, char** argv, char** envp) {
  int status = program_main(argc, argv, envp);
  poolscope::trace::NoteExitStatus(status);
  return status;
}

// exec* other than execve reach the kernel inside glibc without passing through execve's PLT
// entry, so each is wrapped. Argument lists of the l-forms are gathered on the stack.
constexpr int kMaxListArguments = 4096;

// Copies `first` and the char* arguments after it, up to and including the null, into `args`.
// Returns false when there are too many.
bool GatherArguments(const char* first, va_list* list, char** args) {
  args[0] = const_cast<char*>(first);
  for (int i = 1; args[i - 1] != nullptr; ++i) {
    if (i == kMaxListArguments) return false;
    args[i] = va_arg(*list, char*);
  }
  return true;
}

}  // namespace

namespace poolscope::interpose {

void ResolveProcessFunctions() {
  for (int f = 0; f < kCount; ++f) {
    next_functions[f].store(dlsym(RTLD_NEXT, kNames[f]), std::memory_order_release);
  }
}

}  // namespace poolscope::interpose

using StartMainFn = int (*)(MainFn, int, char**, void (*)(), void (*)(), void (*)(), void*);

// Called by the program's _start: main is swapped for a wrapper that sees its return value.
POOLSCOPE_EXPORT int __libc_start_main(MainFn main, int argc, char** argv, void (*init)(),
                                       void (*fini)(), void (*rtld_fini)(), void* stack_end) {
  program_main = main;
  auto next = Next<StartMainFn>(kStartMain);
  return next(MainReturningStatus, argc, argv, init, fini, rtld_fini, stack_end);
}

POOLSCOPE_EXPORT void exit(int status) noexcept {
  poolscope::trace::NoteExitStatus(status);
  Next<void (*)(int)>(kExit)(status);
  __builtin_unreachable();
}

POOLSCOPE_EXPORT void _exit(int status) noexcept {
  poolscope::trace::NoteExitStatus(status);
  // _exit is async-signal-safe and is called from signal handlers: never wait for a lock.
  poolscope::trace::FinishWithoutWaiting();
  Next<void (*)(int)>(kUnderscoreExit)(status);
  __builtin_unreachable();
}

POOLSCOPE_EXPORT void _Exit(int status) noexcept { _exit(status); }

POOLSCOPE_EXPORT int execve(const char* path, char* const argv[], char* const envp[]) noexcept {
  poolscope::trace::BeforeExec();
  return Next<int (*)(const char*, char* const*, char* const*)>(kExecve)(path, argv, envp);
}

POOLSCOPE_EXPORT int execv(const char* path, char* const argv[]) noexcept {
  poolscope::trace::BeforeExec();
  return Next<int (*)(const char*, char* const*)>(kExecv)(path, argv);
}

POOLSCOPE_EXPORT int execvp(const char* file, char* const argv[]) noexcept {
  poolscope::trace::BeforeExec();
  return Next<int (*)(const char*, char* const*)>(kExecvp)(file, argv);
}

POOLSCOPE_EXPORT int execvpe(const char* file, char* const argv[], char* const envp[]) noexcept {
  poolscope::trace::BeforeExec();
  return Next<int (*)(const char*, char* const*, char* const*)>(kExecvpe)(file, argv, envp);
}

POOLSCOPE_EXPORT int fexecve(int fd, char* const argv[], char* const envp[]) noexcept {
  poolscope::trace::BeforeExec();
  return Next<int (*)(int, char* const*, char* const*)>(kFexecve)(fd, argv, envp);
}

// The l-forms: gather the list on the stack (E2BIG when it does not fit), then hand it to the
// v-form through `exec`, which may read further arguments (execle's environment).
template <typename Exec>
int ExecArgumentList(const char* arg, va_list* list, Exec exec) {
  char* args[kMaxListArguments];
  if (!GatherArguments(arg, list, args)) {
    errno = E2BIG;
    return -1;
  }
  return exec(args);
}

POOLSCOPE_EXPORT int execl(const char* path, const char* arg, ...) noexcept {
  va_list list;
  va_start(list, arg);
  int rc = ExecArgumentList(arg, &list, [&](char** args) { return execv(path, args); });
  va_end(list);
  return rc;
}

POOLSCOPE_EXPORT int execlp(const char* file, const char* arg, ...) noexcept {
  va_list list;
  va_start(list, arg);
  int rc = ExecArgumentList(arg, &list, [&](char** args) { return execvp(file, args); });
  va_end(list);
  return rc;
}

POOLSCOPE_EXPORT int execle(const char* path, const char* arg, ...) noexcept {
  va_list list;
  va_start(list, arg);
  int rc = ExecArgumentList(arg, &list, [&](char** args) {
    return execve(path, args, va_arg(list, char**));
  });
  va_end(list);
  return rc;
}
