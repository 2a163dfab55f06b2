#include "run.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/engine_kind.h"
#include "exit_codes.h"
#include "library_path.h"
#include "summary.h"
#include "trace/output_path.h"

extern char** environ;

namespace poolscope::cli {

const char kRunUsage[] =
    "usage: poolscope run [OPTIONS] [--] CMD [ARGS...]\n"
    "  --engine NAME         allocator serving the program (default %s; one of %s)\n"
    "  --trace MODE          off, full (every call; the default) or sampled\n"
    "  --sample-bytes N      mean bytes between samples with --trace sampled (default 524288)\n"
    "  -o, --output TEMPLATE where traces go: %%p pid, %%r MPI rank, %%h host, %%t start time\n"
    "                        (default poolscope.%%p.trace; a directory: that name in it)\n"
    "  --stats               print the library's per-call counts when the program exits\n";

namespace {

struct RunOptions {
  std::optional<std::string> engine;
  std::string trace = "full";
  std::optional<std::string> sample_bytes;
  std::string output = "poolscope.%p.trace";
  bool stats = false;
  std::vector<char*> command;
};

std::string EngineChoices() {
  std::vector<std::string> names;
  for (const auto& e : common::kEngineNames) names.push_back(e.name);
  return absl::StrJoin(names, "|");
}

void PrintRunUsage(FILE* out) {
  fprintf(out, kRunUsage, common::NameOf(common::kDefaultEngine), EngineChoices().c_str());
}

[[noreturn]] void UsageError(const std::string& message) {
  fprintf(stderr, "poolscope run: %s\n", message.c_str());
  PrintRunUsage(stderr);
  exit(kExitRunInternal);
}

RunOptions ParseRunOptions(int argc, char** argv) {
  RunOptions options;
  int i = 0;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "-h" || arg == "--help") {
      PrintRunUsage(stdout);
      exit(0);
    }
    // --name VALUE or --name=VALUE
    auto value_of = [&](const char* name, const char* short_name = nullptr) -> std::optional<std::string> {
      std::string long_eq = absl::StrCat(name, "=");
      if (arg == name || (short_name != nullptr && arg == short_name)) {
        if (i + 1 >= argc) UsageError(absl::StrCat(arg, " needs a value"));
        return std::string(argv[++i]);
      }
      if (absl::StartsWith(arg, long_eq)) return arg.substr(long_eq.size());
      return std::nullopt;
    };
    if (arg == "--stats") {
      options.stats = true;
    } else if (auto engine = value_of("--engine")) {
      bool known = false;
      for (const auto& e : common::kEngineNames) known |= *engine == e.name;
      if (!known) {
        UsageError(absl::StrCat("unknown engine '", *engine, "' (one of ", EngineChoices(), ")"));
      }
      options.engine = *engine;
    } else if (auto trace = value_of("--trace")) {
      if (*trace != "off" && *trace != "full" && *trace != "sampled") {
        UsageError(absl::StrCat("unknown trace mode '", *trace, "' (one of off|full|sampled)"));
      }
      options.trace = *trace;
    } else if (auto bytes = value_of("--sample-bytes")) {
      if (bytes->empty() || bytes->find_first_not_of("0123456789") != std::string::npos ||
          *bytes == "0") {
        UsageError(absl::StrCat("--sample-bytes needs a positive integer, not '", *bytes, "'"));
      }
      options.sample_bytes = *bytes;
    } else if (auto output = value_of("--output", "-o")) {
      if (output->empty()) UsageError("-o needs a path template");
      options.output = *output;
    } else if (!arg.empty() && arg[0] == '-') {
      UsageError(absl::StrCat("unknown option ", arg));
    } else {
      break;  // the command starts here; "--" is optional
    }
  }
  for (; i < argc; ++i) options.command.push_back(argv[i]);
  if (options.command.empty()) UsageError("no command given");
  return options;
}

// execvp's search, done here so "not found" and the static/setuid check see the same file.
std::optional<std::string> ResolveCommand(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "/usr/local/bin:/usr/bin:/bin", ':')) {
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", name);
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return std::nullopt;
}

// True for an ELF executable without a program interpreter: the kernel runs it directly and
// no dynamic loader ever reads LD_PRELOAD.
bool IsStaticElf(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Elf64_Ehdr eh;
  bool is_static = false;
  if (pread(fd, &eh, sizeof(eh), 0) == sizeof(eh) && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
      eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr)) {
    is_static = true;
    for (int i = 0; i < eh.e_phnum; ++i) {
      Elf64_Phdr ph;
      if (pread(fd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)) != sizeof(ph)) break;
      if (ph.p_type == PT_INTERP) {
        is_static = false;
        break;
      }
    }
  }
  close(fd);
  return is_static;
}

// A set-user/group-ID program run by someone else starts in secure mode, where the loader
// ignores LD_PRELOAD of a library outside the system directories.
bool RunsInSecureMode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return false;
  return ((st.st_mode & S_ISUID) && st.st_uid != geteuid()) ||
         ((st.st_mode & S_ISGID) && st.st_gid != getegid());
}

void WarnIfPreloadIgnored(const std::string& path) {
  if (IsStaticElf(path)) {
    fprintf(stderr,
            "poolscope: %s is statically linked and ignores LD_PRELOAD: it runs without "
            "poolscope\n",
            path.c_str());
  } else if (RunsInSecureMode(path)) {
    fprintf(stderr,
            "poolscope: %s is set-user/group-ID and ignores LD_PRELOAD: it runs without "
            "poolscope\n",
            path.c_str());
  }
}

std::vector<std::string> ChildEnvironment(const RunOptions& options, const std::string& lib) {
  std::vector<std::string> env;
  std::string preload = lib;
  for (char** e = environ; *e; ++e) {
    absl::string_view var = *e;
    if (absl::StartsWith(var, "LD_PRELOAD=")) {
      absl::string_view existing = var.substr(strlen("LD_PRELOAD="));
      if (!existing.empty()) preload = absl::StrCat(lib, ":", existing);
    } else if (options.engine && absl::StartsWith(var, "POOLSCOPE_ENGINE=")) {
    } else if (options.stats && absl::StartsWith(var, "POOLSCOPE_STATS=")) {
    } else if (options.sample_bytes && absl::StartsWith(var, "POOLSCOPE_SAMPLE_BYTES=")) {
    } else if (absl::StartsWith(var, "POOLSCOPE_TRACE=") ||
               absl::StartsWith(var, "POOLSCOPE_OUTPUT=")) {
    } else {
      env.emplace_back(var);
    }
  }
  env.push_back(absl::StrCat("LD_PRELOAD=", preload));
  if (options.engine) env.push_back(absl::StrCat("POOLSCOPE_ENGINE=", *options.engine));
  if (options.stats) env.push_back("POOLSCOPE_STATS=1");
  if (options.sample_bytes) env.push_back(absl::StrCat("POOLSCOPE_SAMPLE_BYTES=", *options.sample_bytes));
  env.push_back(absl::StrCat("POOLSCOPE_TRACE=", options.trace));
  env.push_back(absl::StrCat("POOLSCOPE_OUTPUT=", options.output));
  return env;
}

// The summary of the program's own trace (its first image: pid, generation 0), on stderr so
// the program's stdout stays its own. A program that ignores LD_PRELOAD leaves no trace.
// The file is named as the library names it (trace/output_path.h), when the template holds
// only what the CLI knows as the program does: its pid and the host.
void PrintTraceSummary(const std::string& output, pid_t pid) {
  for (size_t i = output.find('%'); i != std::string::npos; i = output.find('%', i + 2)) {
    if (i + 1 == output.size() || (output[i + 1] != 'p' && output[i + 1] != 'h')) {
      fprintf(stderr, "poolscope: traces written as %s\n", output.c_str());
      return;
    }
  }
  char host[256] = "unknown";
  gethostname(host, sizeof(host) - 1);
  char path[PATH_MAX];
  trace::OutputFacts facts{static_cast<uint64_t>(pid), nullptr, host, 0};
  if (!trace::ExpandOutputPath(output.c_str(), facts, path, sizeof(path))) return;
  if (access(path, R_OK) != 0) return;  // the library said why it wrote none
  auto summary = analysis::SummarizeTrace(path);
  if (!summary.ok()) {
    fprintf(stderr, "poolscope: %s\n", std::string(summary.status().message()).c_str());
    return;
  }
  fputs(analysis::FormatSummary(*summary, path).c_str(), stderr);
}

volatile sig_atomic_t child_pid = 0;

// A signal the terminal sent (SI_KERNEL) already reached the child, which is in our foreground
// process group; only signals sent to poolscope alone (kill, timeout, a CI runner) are passed on.
void ForwardSignal(int sig, siginfo_t* info, void*) {
  if (child_pid > 0 && info->si_code != SI_KERNEL) kill(child_pid, sig);
}

constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

int WaitForChild(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      perror("poolscope: waitpid");
      return kExitRunInternal;
    }
  }
  if (WIFSIGNALED(status)) return kExitSignalBase + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace

int RunVerb(int argc, char** argv) {
  RunOptions options = ParseRunOptions(argc, argv);
  auto lib = FindLibrary();
  if (!lib.ok()) {
    fprintf(stderr, "poolscope: %s\n", std::string(lib.status().message()).c_str());
    return kExitRunInternal;
  }
  std::optional<std::string> path = ResolveCommand(options.command[0]);
  if (!path) {
    fprintf(stderr, "poolscope: %s: command not found\n", options.command[0]);
    return kExitRunNotFound;
  }
  WarnIfPreloadIgnored(*path);

  std::vector<std::string> env_strings = ChildEnvironment(options, *lib);
  std::vector<char*> env;
  for (std::string& s : env_strings) env.push_back(s.data());
  env.push_back(nullptr);
  options.command.push_back(nullptr);

  // The child reports a failed exec through this pipe; a successful exec closes it.
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    perror("poolscope: pipe");
    return kExitRunInternal;
  }
  struct sigaction forward {};
  forward.sa_sigaction = ForwardSignal;
  forward.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&forward.sa_mask);
  struct sigaction previous[std::size(kForwardedSignals)];
  for (size_t i = 0; i < std::size(kForwardedSignals); ++i) {
    sigaction(kForwardedSignals[i], &forward, &previous[i]);
  }

  pid_t pid = fork();
  if (pid < 0) {
    perror("poolscope: fork");
    return kExitRunInternal;
  }
  if (pid == 0) {
    for (size_t i = 0; i < std::size(kForwardedSignals); ++i) {
      sigaction(kForwardedSignals[i], &previous[i], nullptr);
    }
    close(report[0]);
    execve(path->c_str(), options.command.data(), env.data());
    int err = errno;
    (void)!write(report[1], &err, sizeof(err));
    _exit(kExitRunCannotExecute);
  }
  child_pid = pid;
  close(report[1]);
  int exec_errno = 0;
  ssize_t got;
  do {
    got = read(report[0], &exec_errno, sizeof(exec_errno));
  } while (got < 0 && errno == EINTR);
  close(report[0]);
  int status = WaitForChild(pid);
  if (got == sizeof(exec_errno)) {
    fprintf(stderr, "poolscope: cannot execute %s: %s\n", path->c_str(), strerror(exec_errno));
    return exec_errno == ENOENT ? kExitRunNotFound : kExitRunCannotExecute;
  }
  if (options.trace != "off") PrintTraceSummary(options.output, pid);
  return status;
}

}  // namespace poolscope::cli
