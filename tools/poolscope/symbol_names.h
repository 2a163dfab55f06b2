// Frame names for the analysis verbs: a FrameNamer backed by the symbolizer over the trace's
// own module records, and the command-line options that steer it.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_SYMBOL_NAMES_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_SYMBOL_NAMES_H_

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

// "function file:line" for a return address (its innermost inlined frame), from the modules
// the trace recorded; module+offset where no symbols are found. Without lines,
// "function file" (a name that survives rebuilds, for matching sites across traces).
FrameNamer SymbolizingNamer(const TraceAnalysis& analysis, Symbolizer::Options options,
                            bool with_lines = true);

// The symbolizer's warnings for the modules a namer made by SymbolizingNamer has used.
std::vector<std::string> SymbolWarnings(const FrameNamer& namer);

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_SYMBOL_NAMES_H_
