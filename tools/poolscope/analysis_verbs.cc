#include "analysis_verbs.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "budget.h"
#include "diff.h"
#include "exit_codes.h"
#include "export_chrome.h"
#include "export_dhat.h"
#include "export_folded.h"
#include "export_pprof.h"
#include "export_speedscope.h"
#include "progress.h"
#include "report_html.h"
#include "report_json.h"
#include "report_text.h"
#include "summary.h"
#include "symbol_names.h"

namespace poolscope::cli {
namespace {

constexpr char kReportUsage[] =
    "usage: poolscope report TRACE [--format text|json|html] [-o FILE] [SYMBOL OPTIONS]\n";
constexpr char kExportUsage[] =
    "usage: poolscope export TRACE --format pprof|folded|speedscope|chrome|dhat [-o FILE]\n"
    "                        [--metric allocated|allocs|peak|leaked]  (folded only)\n"
    "  pprof       gzipped profile.proto: alloc_objects/space, inuse_objects/space\n"
    "  folded      one line per stack with a count (flamegraph.pl, inferno)\n"
    "  speedscope  speedscope's JSON, a profile per metric (allocated, allocs, peak, leaked)\n"
    "  chrome      trace-event JSON: heap and rss counters, phase marks (Perfetto)\n"
    "  dhat        DHAT's JSON, for Valgrind's dh_view.html\n";
constexpr char kCheckUsage[] =
    "usage: poolscope check TRACE [--max-peak SIZE] [--max-leaked SIZE] [--max-allocs N]\n"
    "                             [--max-temporary N] [--budget FILE] [--junit FILE]\n"
    "  sizes: 4096, 64KiB, 64MiB, 1GiB (powers of 2) or 64kB, 64MB, 1GB (powers of 10)\n";

// -h or --help: the verb's usage on stdout.
int Help(const char* usage) {
  printf("%ssymbol options:\n%s", usage, analysis::kSymbolOptionsUsage);
  return 0;
}

int UsageError(const char* usage, const std::string& message) {
  fprintf(stderr, "poolscope: %s\n%ssymbol options (report, export, check):\n%s", message.c_str(),
          usage, analysis::kSymbolOptionsUsage);
  return kExitBadInput;
}

// --progress and --no-progress, which every analysis verb takes: sets the trace reader's
// progress bar on or off; false for any other argument.
bool ProgressOption(const std::string& arg) {
  if (arg != "--progress" && arg != "--no-progress") return false;
  analysis::SetProgressMode(arg == "--progress" ? analysis::ProgressMode::kOn
                                                : analysis::ProgressMode::kOff);
  return true;
}

// Parsed command line of an analysis verb: one trace and --name value pairs.
struct Arguments {
  bool help = false;  // -h or --help: nothing else matters
  std::string trace;
  std::vector<std::pair<std::string, std::string>> options;
};

bool Parse(int argc, char** argv, std::vector<std::string> known, Arguments& out,
           std::string& error) {
  known.insert(known.end(), analysis::kSymbolOptionNames.begin(),
               analysis::kSymbolOptionNames.end());
  analysis::SetProgressMode(analysis::ProgressMode::kAuto);
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      return true;
    }
    if (ProgressOption(arg)) continue;
    if (absl::StartsWith(arg, "-")) {
      std::string name = arg == "-o" ? "--output" : arg;
      std::string value;
      if (size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        error = absl::StrCat(arg, " needs a value");
        return false;
      }
      bool ok = false;
      for (const std::string& k : known) ok |= name == k;
      if (!ok) {
        error = absl::StrCat("unknown option ", arg);
        return false;
      }
      out.options.emplace_back(name.substr(2), value);
    } else if (out.trace.empty()) {
      out.trace = arg;
    } else {
      error = absl::StrCat("one trace at a time (got '", out.trace, "' and '", arg, "')");
      return false;
    }
  }
  if (out.trace.empty()) {
    error = "no trace given";
    return false;
  }
  return true;
}

// The symbol options among `args` (the others are the verb's own); false with *error set for a
// bad value.
bool SymbolOptions(const Arguments& args, analysis::Symbolizer::Options& options,
                   std::string* error) {
  for (const auto& [name, value] : args.options) {
    analysis::ApplySymbolOption(name, value, options, error);
    if (!error->empty()) return false;
  }
  return true;
}

void PrintSymbolWarnings(const analysis::FrameNamer& namer) {
  for (const std::string& w : analysis::SymbolWarnings(namer)) {
    fprintf(stderr, "poolscope: %s\n", w.c_str());
  }
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace

int ReportVerb(int argc, char** argv) {
  Arguments args;
  std::string error;
  if (!Parse(argc, argv, {"--format", "--output"}, args, error)) {
    return UsageError(kReportUsage, error);
  }
  if (args.help) return Help(kReportUsage);
  std::string output, format = "text";
  analysis::Symbolizer::Options symbols;
  if (!SymbolOptions(args, symbols, &error)) return UsageError(kReportUsage, error);
  for (const auto& [name, value] : args.options) {
    if (name == "format" && value != "text" && value != "json" && value != "html") {
      return UsageError(kReportUsage,
                        absl::StrCat("unknown format '", value, "' (text, json, html)"));
    }
    if (name == "format") format = value;
    if (name == "output") output = value;
  }
  analysis::SymbolWarmUp symbolizing(symbols);
  auto analysis = analysis::AnalyzeTrace(args.trace, symbolizing.lookahead());
  if (!analysis.ok()) {
    fprintf(stderr, "poolscope: %s\n", std::string(analysis.status().message()).c_str());
    return kExitBadInput;
  }
  analysis::FrameNamer namer = symbolizing.Namer(*analysis);
  std::string text = format == "json"   ? analysis::FormatJsonReport(*analysis, args.trace, namer)
                     : format == "html" ? analysis::FormatHtmlReport(*analysis, args.trace, namer)
                                        : analysis::FormatTextReport(*analysis, args.trace, namer);
  PrintSymbolWarnings(namer);
  if (output.empty()) {
    fputs(text.c_str(), stdout);
  } else if (!WriteFile(output, text)) {
    fprintf(stderr, "poolscope: cannot write %s\n", output.c_str());
    return kExitBadInput;
  }
  return kExitOk;
}

int ExportVerb(int argc, char** argv) {
  Arguments args;
  std::string error;
  if (!Parse(argc, argv, {"--format", "--metric", "--output"}, args, error)) {
    return UsageError(kExportUsage, error);
  }
  if (args.help) return Help(kExportUsage);
  std::string format, output;
  analysis::FoldedMetric metric = analysis::FoldedMetric::kAllocatedBytes;
  bool metric_given = false;
  analysis::Symbolizer::Options symbols;
  if (!SymbolOptions(args, symbols, &error)) return UsageError(kExportUsage, error);
  for (const auto& [name, value] : args.options) {
    if (name == "format") format = value;
    if (name == "output") output = value;
    if (name == "metric") {
      metric_given = true;
      if (value == "allocated") {
        metric = analysis::FoldedMetric::kAllocatedBytes;
      } else if (value == "allocs") {
        metric = analysis::FoldedMetric::kAllocations;
      } else if (value == "peak") {
        metric = analysis::FoldedMetric::kPeakBytes;
      } else if (value == "leaked") {
        metric = analysis::FoldedMetric::kLeakedBytes;
      } else {
        return UsageError(kExportUsage, absl::StrCat("unknown metric '", value, "'"));
      }
    }
  }
  using Exporter = std::string (*)(const analysis::TraceAnalysis&, const analysis::FrameNamer&);
  Exporter exporter = nullptr;
  if (format == "pprof") exporter = analysis::ExportPprof;
  if (format == "speedscope") exporter = analysis::ExportSpeedscope;
  if (format == "chrome") exporter = analysis::ExportChrome;
  if (format == "dhat") exporter = analysis::ExportDhat;
  if (format.empty()) return UsageError(kExportUsage, "--format is required");
  if (exporter == nullptr && format != "folded") {
    return UsageError(kExportUsage,
                      absl::StrCat("unknown format '", format,
                                   "' (pprof, folded, speedscope, chrome, dhat)"));
  }
  if (exporter != nullptr && metric_given) {
    return UsageError(kExportUsage, absl::StrCat("--metric is for --format folded (", format,
                                                 " carries every metric)"));
  }
  analysis::SymbolWarmUp symbolizing(symbols);
  auto analysis = analysis::AnalyzeTrace(args.trace, symbolizing.lookahead());
  if (!analysis.ok()) {
    fprintf(stderr, "poolscope: %s\n", std::string(analysis.status().message()).c_str());
    return kExitBadInput;
  }
  analysis::FrameNamer namer = symbolizing.Namer(*analysis);
  std::string text = exporter != nullptr ? exporter(*analysis, namer)
                                         : analysis::ExportFolded(*analysis, namer, metric);
  PrintSymbolWarnings(namer);
  if (output.empty()) {
    fwrite(text.data(), 1, text.size(), stdout);  // pprof is binary
  } else if (!WriteFile(output, text)) {
    fprintf(stderr, "poolscope: cannot write %s\n", output.c_str());
    return kExitBadInput;
  }
  return kExitOk;
}

int CheckVerb(int argc, char** argv) {
  Arguments args;
  std::string error;
  if (!Parse(argc, argv,
             {"--max-peak", "--max-leaked", "--max-allocs", "--max-temporary", "--budget",
              "--junit"},
             args, error)) {
    return UsageError(kCheckUsage, error);
  }
  if (args.help) return Help(kCheckUsage);
  analysis::Budget budget;
  std::string junit;
  analysis::Symbolizer::Options symbols;
  if (!SymbolOptions(args, symbols, &error)) return UsageError(kCheckUsage, error);
  for (const auto& [name, value] : args.options) {
    if (name == "sysroot" || name == "debug-dir" || name == "debuginfod") continue;
    if (name == "budget") {
      auto file = analysis::ReadBudgetFile(value);
      if (!file.ok()) {
        fprintf(stderr, "poolscope: %s\n", std::string(file.status().message()).c_str());
        return kExitBadInput;
      }
      // Options given on the command line after --budget win; merge field by field.
      for (auto field : {&analysis::Budget::max_peak, &analysis::Budget::max_leaked,
                         &analysis::Budget::max_allocs, &analysis::Budget::max_temporary}) {
        if ((*file).*field) budget.*field = (*file).*field;
      }
    } else if (name == "junit") {
      junit = value;
    } else if (absl::Status s = analysis::SetBudget(budget, name, value); !s.ok()) {
      return UsageError(kCheckUsage, std::string(s.message()));
    }
  }
  if (!budget.max_peak && !budget.max_leaked && !budget.max_allocs && !budget.max_temporary) {
    return UsageError(kCheckUsage, "no budget given");
  }
  analysis::SymbolWarmUp symbolizing(symbols);
  auto analysis = analysis::AnalyzeTrace(args.trace, symbolizing.lookahead());
  if (!analysis.ok()) {
    fprintf(stderr, "poolscope: %s\n", std::string(analysis.status().message()).c_str());
    return kExitBadInput;
  }
  analysis::FrameNamer namer = symbolizing.Namer(*analysis);
  auto results = analysis::CheckBudget(*analysis, budget, namer);
  PrintSymbolWarnings(namer);
  bool exceeded = false;
  for (const auto& r : results) {
    exceeded |= r.exceeded;
    fprintf(r.exceeded ? stderr : stdout, "%s\n", r.line.c_str());
  }
  if (!junit.empty() && !WriteFile(junit, analysis::BudgetJUnit(results, args.trace))) {
    fprintf(stderr, "poolscope: cannot write %s\n", junit.c_str());
    return kExitBadInput;
  }
  return exceeded ? kExitThresholdExceeded : kExitOk;
}

namespace {

constexpr char kDiffUsage[] =
    "usage: poolscope diff BASE NEW [--fail-on METRIC:+N%|METRIC:+AMOUNT]...\n"
    "  METRIC: peak, leaked (AMOUNT a size: 1MiB, 500kB) or allocs, temporary (a count: 1000,\n"
    "  10k); e.g. --fail-on peak:+10% --fail-on leaked:+1MiB. Exit 1 when a total grew more.\n"
    "  --progress, --no-progress: the progress bar while reading (default: on a terminal)\n";

}  // namespace

int DiffVerb(int argc, char** argv) {
  std::vector<std::string> traces;
  std::vector<analysis::FailOn> thresholds;
  analysis::SetProgressMode(analysis::ProgressMode::kAuto);
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      fputs(kDiffUsage, stdout);
      return kExitOk;
    }
    if (ProgressOption(arg)) continue;
    if (arg == "--fail-on" || absl::StartsWith(arg, "--fail-on=")) {
      std::string spec;
      if (arg != "--fail-on") {
        spec = arg.substr(strlen("--fail-on="));
      } else if (i + 1 < argc) {
        spec = argv[++i];
      } else {
        return UsageError(kDiffUsage, "--fail-on needs a value");
      }
      auto parsed = analysis::ParseFailOn(spec);
      if (!parsed.ok()) {
        fprintf(stderr, "poolscope: %s\n", std::string(parsed.status().message()).c_str());
        return kExitBadInput;
      }
      thresholds.push_back(*parsed);
    } else if (absl::StartsWith(arg, "-") && arg != "-") {
      return UsageError(kDiffUsage, absl::StrCat("unknown option ", arg));
    } else {
      traces.push_back(arg);
    }
  }
  if (traces.size() != 2) {
    return UsageError(kDiffUsage, absl::StrCat("two traces needed (BASE NEW), got ",
                                               traces.size()));
  }
  // Sites are matched by function and file: line numbers and addresses change between builds.
  analysis::SymbolWarmUp base_symbols({}, /*with_lines=*/false);
  analysis::SymbolWarmUp now_symbols({}, /*with_lines=*/false);
  auto base = analysis::AnalyzeTrace(traces[0], base_symbols.lookahead());
  if (!base.ok()) {
    fprintf(stderr, "poolscope: %s\n", std::string(base.status().message()).c_str());
    return kExitBadInput;
  }
  auto now = analysis::AnalyzeTrace(traces[1], now_symbols.lookahead());
  if (!now.ok()) {
    fprintf(stderr, "poolscope: %s\n", std::string(now.status().message()).c_str());
    return kExitBadInput;
  }
  analysis::TraceDiff diff = analysis::DiffTraces(*base, base_symbols.Namer(*base), *now,
                                                  now_symbols.Namer(*now));
  fputs(analysis::FormatDiff(diff, traces[0], traces[1]).c_str(), stdout);
  bool exceeded = false;
  if (!thresholds.empty()) fputs("\n", stdout);
  for (const analysis::FailOn& threshold : thresholds) {
    analysis::FailOnResult r = analysis::CheckFailOn(diff, threshold);
    exceeded |= r.exceeded;
    fprintf(r.exceeded ? stderr : stdout, "%s\n", r.line.c_str());
  }
  return exceeded ? kExitThresholdExceeded : kExitOk;
}

}  // namespace poolscope::cli
