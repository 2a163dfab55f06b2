// Turns the return addresses of a trace's stacks into functions, inlined frames and file:line,
// offline, from the ELF files the trace's ModuleLoad records name (elfutils libdwfl).
//
// Each module is checked before use: the GNU build-id recorded in the trace must equal the
// file's (or, when the trace has none, the file must have none and span the recorded size).
// A module that fails the check, or whose file is missing, is never used: its frames come back
// unresolved, as `module+0xoffset`, and Warnings() names it. A rebuilt binary is therefore
// never mis-symbolized.
//
// Debug information is taken from the module itself or from a separate file: first by build-id
// (<debug dir>/.build-id/xx/yyyy.debug, checked), then by .gnu_debuglink (next to the file, in
// its .debug subdirectory, and under each debug dir followed by the module's directory; checked
// by build-id, or by CRC when there is none), including dwz's .gnu_debugaltlink files. Without
// DWARF, function names come from the ELF symbol table. debuginfod is consulted only when
// Options::use_debuginfod is set, whatever DEBUGINFOD_URLS says.
//
// Not thread-safe: one Symbolizer per thread.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_SYMBOLIZER_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_SYMBOLIZER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace poolscope::analysis {

// The strings are the Symbolizer's: valid for its life, and each stored once however many
// frames share it (a report symbolizes ~10^5 addresses that name a few thousand functions).
struct SymbolizedFrame {
  std::string_view function;  // demangled, e.g. "ns::Type::Method(int)"; empty if unknown
  std::string_view file;      // source file as the debug information names it; empty if unknown
  std::string_view module;    // the module's path as the trace recorded it; empty: in no module
  // The return address minus the module's load address (an address in the file, what
  // addr2line takes); the return address itself when `module` is empty.
  uint64_t module_offset = 0;
  int line = 0;           // 0 if unknown
  bool inlined = false;   // inlined into the next frame of the same address
  bool resolved = false;  // a function name was found
};

// "function file:line", "function (module+0x1a2b)" when there is no line information, and for
// unresolved frames "module+0x1a2b" (or "0x7f3a..." outside every module; either followed by
// file:line in the rare case a line but no function is known).
std::string FormatFrame(const SymbolizedFrame& frame);

class Symbolizer {
 public:
  struct Options {
    // Prefixed to every module path (to symbolize a trace recorded on another machine).
    std::string sysroot;
    // Where separate debug files are looked for. Empty: <sysroot>/usr/lib/debug.
    std::vector<std::string> debug_dirs;
    // Ask the debuginfod servers of $DEBUGINFOD_URLS for debug files not found locally.
    bool use_debuginfod = false;
  };

  Symbolizer();
  explicit Symbolizer(Options options);
  ~Symbolizer();
  Symbolizer(Symbolizer&&) noexcept;
  Symbolizer& operator=(Symbolizer&&) noexcept;

  // From the trace's ModuleLoad records: call for each, in trace order, before Symbolize (a
  // module added later does not change results already returned). A repeated module is
  // ignored; one overlapping an earlier module is not used (warned).
  void AddModule(uint64_t load_address, uint64_t size, std::string_view path,
                 std::string_view build_id);

  // A return address -> one or more frames: the innermost inlined frame first, the containing
  // function last. Looks up return_address - 1 (a return address points after its call). The
  // result is cached per address; the frames stay where they are for the Symbolizer's life.
  std::span<const SymbolizedFrame> Symbolize(uint64_t return_address);

  // One line per module that cannot be used (missing file, build-id mismatch, ...), in the
  // order the modules were added, for reports.
  std::vector<std::string> Warnings() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace poolscope::analysis

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_SYMBOLIZER_H_
