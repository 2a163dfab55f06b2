#include "export_speedscope.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "cli_config.h"
#include "export_names.h"
#include "report_json.h"

namespace poolscope::analysis {
namespace {

struct Profile {
  const char* name;
  const char* unit;  // speedscope's ValueUnit: "bytes" or "none"
  uint64_t SiteStats::*metric;
};

constexpr Profile kProfiles[] = {
    {"allocated bytes", "bytes", &SiteStats::allocated_bytes},
    {"allocations", "none", &SiteStats::allocations},
    {"heap at the peak", "bytes", &SiteStats::peak_bytes},
    {"leaked bytes", "bytes", &SiteStats::leaked_bytes},
};

}  // namespace

std::string ExportSpeedscope(const TraceAnalysis& a, const FrameNamer& name_frame) {
  exportnames::FrameNames names(name_frame);
  absl::flat_hash_map<std::string, size_t> frame_index;
  std::vector<std::string> frames;
  auto index_of = [&](const std::string& name) {
    auto [it, inserted] = frame_index.try_emplace(name, frames.size());
    if (inserted) frames.push_back(name);
    return it->second;
  };

  // Each site's stack as frame indices, outermost first, in a stable order.
  std::vector<const SiteStats*> sites;
  for (const SiteStats& s : a.sites) sites.push_back(&s);
  std::sort(sites.begin(), sites.end(),
            [](const SiteStats* x, const SiteStats* y) { return x->stack < y->stack; });
  std::vector<std::string> stacks;
  for (const SiteStats* s : sites) {
    std::vector<uint64_t> addresses = a.Frames(s->stack);
    std::string stack = "[";
    for (auto it = addresses.rbegin(); it != addresses.rend(); ++it) {
      std::string at = names(*it);
      std::vector<std::string_view> inlined = FrameLines(at);
      for (auto line = inlined.rbegin(); line != inlined.rend(); ++line) {
        absl::StrAppend(&stack, stack.size() > 1 ? "," : "", index_of(std::string(*line)));
      }
    }
    if (addresses.empty()) absl::StrAppend(&stack, index_of(exportnames::kUnknownStack));
    stack += "]";
    stacks.push_back(std::move(stack));
  }

  std::string out = "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n";
  absl::StrAppend(
      &out, "\"name\":",
      JsonQuote(absl::StrCat(a.summary.executable.empty() ? "trace" : a.summary.executable,
                             " (pid ", a.summary.pid, ")")),
      ",\n\"exporter\":\"poolscope ", POOLSCOPE_VERSION, "\",\n",
      "\"activeProfileIndex\":0,\n\"shared\":{\"frames\":[");
  for (size_t i = 0; i < frames.size(); ++i) {
    absl::StrAppend(&out, i ? ",\n" : "\n", "{\"name\":", JsonQuote(frames[i]), "}");
  }
  out += "\n]},\n\"profiles\":[";
  bool first_profile = true;
  for (const Profile& p : kProfiles) {
    std::string samples, weights;
    uint64_t total = 0;
    for (size_t i = 0; i < sites.size(); ++i) {
      uint64_t value = sites[i]->*(p.metric);
      if (value == 0) continue;
      absl::StrAppend(&samples, samples.empty() ? "" : ",", stacks[i]);
      absl::StrAppend(&weights, weights.empty() ? "" : ",", value);
      total += value;
    }
    absl::StrAppend(&out, first_profile ? "\n" : ",\n", "{\"type\":\"sampled\",\"name\":\"", p.name,
                    "\",\"unit\":\"", p.unit, "\",\"startValue\":0,\"endValue\":", total,
                    ",\n\"samples\":[", samples, "],\n\"weights\":[", weights, "]}");
    first_profile = false;
  }
  out += "\n]}\n";
  return out;
}

}  // namespace poolscope::analysis
