#include "symbol_names.h"

#include <atomic>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"

namespace poolscope::analysis {
namespace {

// Shared by the copies of one namer (FrameNamer is copied around as a std::function).
struct NamerState {
  explicit NamerState(Symbolizer symbolizer) : symbolizer(std::move(symbolizer)) {}
  Symbolizer symbolizer;
};

// The trace's modules, in trace order.
class ModuleCollector : public trace_format::RecordVisitor {
 public:
  void OnModuleLoad(uint32_t, const trace_format::ModuleRecord& r) override {
    modules.push_back({r.load_address, r.size, std::string(r.path), std::string(r.build_id)});
  }
  std::vector<ModuleInfo> modules;
};

void AddModules(Symbolizer& symbolizer, const std::vector<ModuleInfo>& modules) {
  for (const ModuleInfo& m : modules) symbolizer.AddModule(m.load_address, m.size, m.path, m.build_id);
}

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

struct SymbolWarmUp::State {
  explicit State(Symbolizer::Options options) : symbolizer(std::move(options)) {}
  Symbolizer symbolizer;
  bool with_lines = true;
  std::atomic<bool> stop{false};
  std::thread thread;
};

SymbolWarmUp::SymbolWarmUp(const std::string& trace_path, Symbolizer::Options options,
                           bool with_lines)
    : state_(std::make_unique<State>(std::move(options))) {
  state_->with_lines = with_lines;
  state_->thread = std::thread([state = state_.get(), trace_path] {
    ModuleCollector collector;
    if (!ReadProcessLevel(trace_path, collector).ok()) return;  // the analysis will say why
    AddModules(state->symbolizer, collector.modules);
    // An address in each module makes the symbolizer open it and its debug information.
    for (const ModuleInfo& m : collector.modules) {
      if (state->stop.load(std::memory_order_relaxed)) return;
      state->symbolizer.Symbolize(m.load_address + 1);
    }
  });
}

SymbolWarmUp::~SymbolWarmUp() {
  if (state_->thread.joinable()) {
    state_->stop.store(true, std::memory_order_relaxed);
    state_->thread.join();
  }
}

FrameNamer SymbolWarmUp::Namer(const TraceAnalysis& analysis) {
  // Modules it has not reached yet are opened when a frame needs them, if one does.
  state_->stop.store(true, std::memory_order_relaxed);
  state_->thread.join();
  auto shared = std::make_shared<NamerState>(std::move(state_->symbolizer));
  // Modules the warm-up did not see (it read none if the trace changed under it) are added
  // now; the ones it added are ignored as repeats.
  AddModules(shared->symbolizer, analysis.modules);
  return SymbolizingNamerImpl(std::move(shared), state_->with_lines);
}

std::vector<std::string> SymbolWarnings(const FrameNamer& namer) {
  if (const auto* impl = namer.target<SymbolizingNamerImpl>()) {
    return impl->symbolizer().Warnings();
  }
  return {};
}

}  // namespace poolscope::analysis
