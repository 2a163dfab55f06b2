// Frame names for the analysis verbs: a FrameNamer backed by the symbolizer over the trace's
// own module records, and the command-line options that steer it.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_SYMBOL_NAMES_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_SYMBOL_NAMES_H_

#include <memory>
#include <string>
#include <vector>

#include "report_text.h"
#include "summary.h"
#include "symbolizer.h"

namespace poolscope::analysis {

// The option names every analysis verb accepts: --sysroot DIR, --debug-dir DIR (repeatable),
// --debuginfod yes|no.
inline const std::vector<std::string> kSymbolOptionNames = {"--sysroot", "--debug-dir",
                                                            "--debuginfod"};
inline constexpr char kSymbolOptionsUsage[] =
    "  --sysroot DIR     look for the trace's modules under DIR (trace from another machine)\n"
    "  --debug-dir DIR   look for separate debug info in DIR too (default /usr/lib/debug)\n"
    "  --debuginfod yes  ask the servers in $DEBUGINFOD_URLS for missing debug info\n";

// Applies one of kSymbolOptionNames (without its leading "--"); false for other names. Sets
// *error for a bad value.
bool ApplySymbolOption(const std::string& name, const std::string& value,
                       Symbolizer::Options& options, std::string* error);

// "function file:line" for a return address, one line per frame where calls were inlined
// there (FrameLines), from the modules the trace recorded; module+offset where no symbols are
// found. Without lines, the innermost frame's "function file" (a name that survives rebuilds,
// for matching sites across traces).
//
// The slow part of symbolizing (opening a module, loading and decompressing its debug
// information: 35 ms for libc) is done while the trace is analysed: a SymbolWarmUp's
// lookahead, given to AnalyzeTrace, sees the module and stack-node records as they are
// decoded, and a thread of its own opens each module some frame lies in, as soon as the first
// such frame appears. Modules no frame lies in are never opened.
class SymbolWarmUp {
 public:
  explicit SymbolWarmUp(Symbolizer::Options options, bool with_lines = true);
  ~SymbolWarmUp();  // stops after the module being opened
  SymbolWarmUp(const SymbolWarmUp&) = delete;
  SymbolWarmUp& operator=(const SymbolWarmUp&) = delete;

  // For AnalyzeTrace; valid for the warm-up's life.
  trace_format::RecordVisitor* lookahead();
  // The namer for the analysis that lookahead() watched; call once, after it.
  FrameNamer Namer(const TraceAnalysis& analysis);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The symbolizer's warnings for the modules of a namer made by SymbolWarmUp.
std::vector<std::string> SymbolWarnings(const FrameNamer& namer);

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_SYMBOL_NAMES_H_
