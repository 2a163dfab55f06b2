#include "symbol_names.h"

#include <memory>

#include "absl/strings/str_cat.h"

namespace poolscope::analysis {
namespace {

// Shared by the copies of one namer (FrameNamer is copied around as a std::function).
struct NamerState {
  explicit NamerState(Symbolizer::Options options) : symbolizer(std::move(options)) {}
  Symbolizer symbolizer;
};

class SymbolizingNamerImpl {
 public:
  SymbolizingNamerImpl(std::shared_ptr<NamerState> state, bool with_lines)
      : state_(std::move(state)), with_lines_(with_lines) {}
  std::string operator()(uint64_t address) const {
    std::span<const SymbolizedFrame> frames = state_->symbolizer.Symbolize(address);
    if (frames.empty()) return absl::StrCat("0x", absl::Hex(address));
    const SymbolizedFrame& innermost = frames.front();
    if (with_lines_ || !innermost.resolved || innermost.function.empty()) {
      return FormatFrame(innermost);
    }
    std::string name(innermost.function);
    if (!innermost.file.empty()) {
      size_t slash = innermost.file.rfind('/');
      name += ' ';
      name += slash == std::string_view::npos ? innermost.file : innermost.file.substr(slash + 1);
    }
    return name;
  }
  const Symbolizer& symbolizer() const { return state_->symbolizer; }

 private:
  std::shared_ptr<NamerState> state_;
  bool with_lines_;
};

}  // namespace

bool ApplySymbolOption(const std::string& name, const std::string& value,
                       Symbolizer::Options& options, std::string* error) {
  if (name == "sysroot") {
    options.sysroot = value;
  } else if (name == "debug-dir") {
    options.debug_dirs.push_back(value);
  } else if (name == "debuginfod") {
    if (value != "yes" && value != "no") {
      *error = absl::StrCat("--debuginfod takes yes or no, not '", value, "'");
    }
    options.use_debuginfod = value == "yes";
  } else {
    return false;
  }
  return true;
}

FrameNamer SymbolizingNamer(const TraceAnalysis& analysis, Symbolizer::Options options,
                            bool with_lines) {
  auto state = std::make_shared<NamerState>(std::move(options));
  for (const ModuleInfo& m : analysis.modules) {
    state->symbolizer.AddModule(m.load_address, m.size, m.path, m.build_id);
  }
  return SymbolizingNamerImpl(std::move(state), with_lines);
}

std::vector<std::string> SymbolWarnings(const FrameNamer& namer) {
  if (const auto* impl = namer.target<SymbolizingNamerImpl>()) {
    return impl->symbolizer().Warnings();
  }
  return {};
}

}  // namespace poolscope::analysis
