#include "symbol_names.h"

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"

namespace poolscope::analysis {
namespace {

// Shared by the copies of one namer (FrameNamer is copied around as a std::function).
struct NamerState {
  explicit NamerState(Symbolizer symbolizer) : symbolizer(std::move(symbolizer)) {}
  Symbolizer symbolizer;
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
    if (with_lines_) {
      std::string names;
      for (const SymbolizedFrame& frame : frames) {
        absl::StrAppend(&names, names.empty() ? "" : "\n", FormatFrame(frame));
      }
      return names;
    }
    if (!innermost.resolved || innermost.function.empty()) return FormatFrame(innermost);
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

// The warm-up's work, handed from the decoding thread: modules to add, in trace order, and for
// each module some frame has, the first such address to symbolize.
struct SymbolWarmUp::State : trace_format::RecordVisitor {
  struct Work {
    std::optional<ModuleInfo> module;
    uint64_t address = 0;
  };

  explicit State(Symbolizer::Options options) : symbolizer(std::move(options)) {}

  // On the decoding thread. Module records are written once the program's constructors run,
  // usually after its first stacks: addresses in no known module wait for theirs.
  void OnModuleLoad(uint32_t, const trace_format::ModuleRecord& r) override {
    ranges.push_back({r.load_address, r.load_address + r.size, false});
    last = nullptr;  // the vector may have moved
    Push({ModuleInfo{r.load_address, r.size, std::string(r.path), std::string(r.build_id)}, 0});
    std::vector<uint64_t> waiting;
    waiting.swap(unplaced);
    for (uint64_t a : waiting) Place(a);
  }
  void OnStackNode(uint32_t, const trace_format::StackNodeRecord& r) override {
    Place(r.return_address);
  }
  void Place(uint64_t a) {
    if (last != nullptr && a >= last->start && a < last->end) return;
    for (Range& range : ranges) {
      if (a < range.start || a >= range.end) continue;
      last = &range;
      if (!range.warmed) {
        range.warmed = true;
        Push({std::nullopt, a});
      }
      return;
    }
    if (unplaced.size() < kMaxUnplaced) unplaced.push_back(a);
  }

  void Push(Work work) {
    std::lock_guard lock(mutex);
    queue.push_back(std::move(work));
    wake.notify_one();
  }

  // The warm-up thread.
  void Run() {
    for (;;) {
      Work work;
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [&] { return stop || !queue.empty(); });
        if (stop) return;
        work = std::move(queue.front());
        queue.pop_front();
      }
      if (work.module) {
        const ModuleInfo& m = *work.module;
        symbolizer.AddModule(m.load_address, m.size, m.path, m.build_id);
      } else {
        symbolizer.Symbolize(work.address);
      }
    }
  }

  void Stop() {
    {
      std::lock_guard lock(mutex);
      stop = true;
      wake.notify_one();
    }
    if (thread.joinable()) thread.join();
  }

  struct Range {
    uint64_t start, end;
    bool warmed;
  };
  static constexpr size_t kMaxUnplaced = 4096;
  std::vector<Range> ranges;  // the decoding thread's
  Range* last = nullptr;
  std::vector<uint64_t> unplaced;

  Symbolizer symbolizer;
  bool with_lines = true;
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Work> queue;
  bool stop = false;
  std::thread thread;
};

SymbolWarmUp::SymbolWarmUp(Symbolizer::Options options, bool with_lines)
    : state_(std::make_unique<State>(std::move(options))) {
  state_->with_lines = with_lines;
  state_->thread = std::thread([state = state_.get()] { state->Run(); });
}

SymbolWarmUp::~SymbolWarmUp() { state_->Stop(); }

trace_format::RecordVisitor* SymbolWarmUp::lookahead() { return state_.get(); }

FrameNamer SymbolWarmUp::Namer(const TraceAnalysis& analysis) {
  // What it has not reached yet is done when a frame needs it, if one does.
  state_->Stop();
  auto shared = std::make_shared<NamerState>(std::move(state_->symbolizer));
  // Modules it did not add are added now; the ones it added are ignored as repeats.
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
