#include "budget.h"

#include <cctype>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace poolscope::analysis {
namespace {

struct Suffix {
  const char* text;
  uint64_t factor;
};

// Longest first, so "MiB" is not read as "M" followed by junk.
constexpr Suffix kSizeSuffixes[] = {
    {"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30}, {"TiB", 1ULL << 40},
    {"kB", 1000ULL},     {"KB", 1000ULL},     {"MB", 1000000ULL}, {"GB", 1000000000ULL},
    {"TB", 1000000000000ULL},
    {"K", 1ULL << 10},   {"M", 1ULL << 20},   {"G", 1ULL << 30},  {"T", 1ULL << 40},
    {"B", 1},            {"", 1},
};

constexpr Suffix kCountSuffixes[] = {
    {"k", 1000ULL}, {"K", 1000ULL}, {"M", 1000000ULL}, {"G", 1000000000ULL}, {"", 1},
};

template <size_t N>
absl::StatusOr<uint64_t> ParseWithSuffix(const std::string& text, const Suffix (&suffixes)[N],
                                         const char* what) {
  std::string t(absl::StripAsciiWhitespace(text));
  size_t digits = 0;
  while (digits < t.size() && (std::isdigit(static_cast<unsigned char>(t[digits])) || t[digits] == '.')) {
    ++digits;
  }
  std::string number = t.substr(0, digits);
  std::string unit(absl::StripAsciiWhitespace(t.substr(digits)));
  double value;
  if (number.empty() || !absl::SimpleAtod(number, &value)) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a ", what));
  }
  for (const Suffix& s : suffixes) {
    if (unit == s.text) return static_cast<uint64_t>(value * static_cast<double>(s.factor) + 0.5);
  }
  return absl::InvalidArgumentError(absl::StrCat("'", text, "' has an unknown unit '", unit,
                                                 "' (", what, ")"));
}

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<uint64_t> ParseSize(const std::string& text) {
  return ParseWithSuffix(text, kSizeSuffixes, "size (e.g. 64MiB, 64MB, 4096)");
}

absl::StatusOr<uint64_t> ParseCount(const std::string& text) {
  return ParseWithSuffix(text, kCountSuffixes, "count (e.g. 1000, 10k, 2M)");
}

absl::Status SetBudget(Budget& budget, const std::string& name, const std::string& value) {
  auto set = [&](std::optional<uint64_t>& slot, bool size) -> absl::Status {
    auto parsed = size ? ParseSize(value) : ParseCount(value);
    if (!parsed.ok()) return absl::InvalidArgumentError(absl::StrCat(name, ": ", parsed.status().message()));
    slot = *parsed;
    return absl::OkStatus();
  };
  if (name == "max-peak") return set(budget.max_peak, true);
  if (name == "max-leaked") return set(budget.max_leaked, true);
  if (name == "max-allocs") return set(budget.max_allocs, false);
  if (name == "max-temporary") return set(budget.max_temporary, false);
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown budget '", name, "' (one of max-peak, max-leaked, max-allocs, max-temporary)"));
}

absl::StatusOr<Budget> ReadBudgetFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  Budget budget;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string text(absl::StripAsciiWhitespace(line.substr(0, line.find('#'))));
    if (text.empty()) continue;
    size_t eq = text.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": expected 'name = value', got '", text, "'"));
    }
    std::string name(absl::StripAsciiWhitespace(text.substr(0, eq)));
    std::string value(absl::StripAsciiWhitespace(text.substr(eq + 1)));
    if (absl::Status s = SetBudget(budget, name, value); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", number, ": ", s.message()));
    }
  }
  return budget;
}

std::vector<BudgetResult> CheckBudget(const TraceAnalysis& a, const Budget& budget,
                                      const FrameNamer& name_frame) {
  std::vector<BudgetResult> results;
  auto check = [&](const char* name, const std::optional<uint64_t>& limit, uint64_t actual,
                   uint64_t SiteStats::*metric, bool bytes) {
    if (!limit) return;
    BudgetResult r{name, *limit, actual, actual > *limit, ""};
    auto show = [&](uint64_t v) { return bytes ? HumanBytes(v) : absl::StrCat(v); };
    if (r.exceeded) {
      const SiteStats* top = nullptr;
      for (const SiteStats& s : a.sites) {
        if (top == nullptr || s.*metric > top->*metric) top = &s;
      }
      r.line = absl::StrFormat("%s exceeded: %s > %s; most from %s (%s)", name, show(actual),
                               show(*limit),
                               top ? DescribeSite(a, *top, name_frame) : "no site",
                               top ? show(top->*metric) : "0");
    } else {
      r.line = absl::StrFormat("%s ok: %s <= %s", name, show(actual), show(*limit));
    }
    results.push_back(r);
  };
  check("max-peak", budget.max_peak, a.summary.peak_bytes, &SiteStats::peak_bytes, true);
  check("max-leaked", budget.max_leaked, a.summary.leaked_bytes, &SiteStats::leaked_bytes, true);
  check("max-allocs", budget.max_allocs, a.summary.allocations, &SiteStats::allocations, false);
  check("max-temporary", budget.max_temporary, a.temporary, &SiteStats::temporary, false);
  return results;
}

std::string BudgetJUnit(const std::vector<BudgetResult>& results, const std::string& trace) {
  int failures = 0;
  for (const BudgetResult& r : results) failures += r.exceeded;
  std::string out = absl::StrFormat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites>\n<testsuite name=\"poolscope budgets\" tests=\"%d\" failures=\"%d\">\n",
      results.size(), failures);
  for (const BudgetResult& r : results) {
    absl::StrAppendFormat(&out, "  <testcase classname=\"%s\" name=\"%s\">", XmlEscape(trace),
                          r.name);
    if (r.exceeded) {
      absl::StrAppendFormat(&out, "<failure message=\"%s\"/>", XmlEscape(r.line));
    }
    out += "</testcase>\n";
  }
  out += "</testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace poolscope::analysis
