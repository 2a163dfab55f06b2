// poolscope: runs programs under the preload library and turns what it records into answers.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli_config.h"
#include "exit_codes.h"
#include "library_path.h"
#include "analysis_verbs.h"
#include "run.h"

namespace poolscope::cli {
namespace {

constexpr char kUsage[] =
    "usage: poolscope VERB [OPTIONS] [ARGS...]\n"
    "\n"
    "verbs:\n"
    "  run [--engine NAME] [--trace off|full|sampled] [-o TEMPLATE] [--stats] -- CMD [ARGS...]\n"
    "        run CMD with libpoolscope.so preloaded; exits with CMD's status\n"
    "  report TRACE [--format text|json|html] [-o FILE]\n"
    "        what the trace says: totals, peak heap and the sites holding it, leaks,\n"
    "        hot and temporary allocation sites\n"
    "  export TRACE --format pprof|folded|speedscope|chrome|dhat [-o FILE]\n"
    "        for the viewers people use (pprof, flame graphs, speedscope, Perfetto, DHAT)\n"
    "  check TRACE --max-peak SIZE --max-leaked SIZE --max-allocs N --max-temporary N\n"
    "              [--budget FILE] [--junit FILE]\n"
    "        CI gate: exit 1 with one line per exceeded budget\n"
    "  diff BASE NEW [--fail-on METRIC:+N%|METRIC:+AMOUNT]...\n"
    "        per-site growth of peak, allocations and leaks; exit 1 past a threshold\n"
    "\n"
    "options:\n"
    "  -h, --help     show this help\n"
    "  --version      show the CLI, library and trace-format versions\n"
    "  --progress, --no-progress\n"
    "                 report, export, check, diff: a progress bar on stderr while traces are\n"
    "                 read, by default only on a terminal and for long reads; --progress\n"
    "                 shows it always, --no-progress never\n"
    "\n"
    "Environment: POOLSCOPE_LIB overrides where the library is found; the library reads\n"
    "POOLSCOPE_ENGINE and POOLSCOPE_STATS (docs/USAGE.md).\n";

int PrintVersion() {
  printf("poolscope %s\n", POOLSCOPE_VERSION);
  auto lib = FindLibrary();
  if (lib.ok()) {
    auto version = LibraryVersion(*lib);
    printf("library %s (%s)\n", version.ok() ? version->c_str() : "unknown version",
           lib->c_str());
  } else {
    printf("library not found: %s\n", std::string(lib.status().message()).c_str());
  }
  printf("trace format %d.%d\n", POOLSCOPE_TRACE_FORMAT_MAJOR, POOLSCOPE_TRACE_FORMAT_MINOR);
  return kExitOk;
}

}  // namespace
}  // namespace poolscope::cli

int main(int argc, char** argv) {
  using namespace poolscope::cli;
  if (argc < 2) {
    fputs(kUsage, stderr);
    return kExitBadInput;
  }
  std::string verb = argv[1];
  if (verb == "-h" || verb == "--help" || verb == "help") {
    fputs(kUsage, stdout);
    return kExitOk;
  }
  if (verb == "--version" || verb == "version") return PrintVersion();
  if (verb == "run") return RunVerb(argc - 2, argv + 2);
  if (verb == "report") return ReportVerb(argc - 2, argv + 2);
  if (verb == "check") return CheckVerb(argc - 2, argv + 2);
  if (verb == "export") return ExportVerb(argc - 2, argv + 2);
  if (verb == "diff") return DiffVerb(argc - 2, argv + 2);
  fprintf(stderr, "poolscope: unknown verb '%s'\n%s", verb.c_str(), kUsage);
  return kExitBadInput;
}
