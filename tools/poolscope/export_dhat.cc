#include "export_dhat.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "export_names.h"
#include "report_json.h"

namespace poolscope::analysis {
namespace {

// A DHAT program point: the figures of one distinct frame sequence.
struct ProgramPoint {
  uint64_t tb = 0, tbk = 0, tl = 0, mb = 0, mbk = 0, gb = 0, gbk = 0, eb = 0, ebk = 0;
};

constexpr uint64_t kShortLivedMicros = 10;

}  // namespace

std::string ExportDhat(const TraceAnalysis& a, const FrameNamer& name_frame) {
  exportnames::FrameNames names(name_frame);
  // ftbl: "[root]" first (dh_view's tree root), then one entry per return address.
  std::vector<std::string> ftbl = {"[root]"};
  absl::flat_hash_map<uint64_t, uint64_t> frame_index;
  uint64_t unknown_index = 0;
  auto index_of = [&](uint64_t address) {
    auto [it, inserted] = frame_index.try_emplace(address, ftbl.size());
    // DHAT has a frame per address: calls inlined there join the name, innermost first.
    if (inserted) {
      std::string name = names(address);
      std::string joined;
      for (std::string_view frame : FrameLines(name)) {
        if (!joined.empty()) joined += " / ";
        joined += frame;
      }
      ftbl.push_back(absl::StrFormat("0x%x: %s", address, joined));
    }
    return it->second;
  };

  // dh_view rejects two program points with the same frames: sites whose stacks read the same
  // (the recorder's stack table merged them) are added together.
  std::vector<const SiteStats*> sites;
  for (const SiteStats& s : a.sites) sites.push_back(&s);
  std::sort(sites.begin(), sites.end(),
            [](const SiteStats* x, const SiteStats* y) { return x->stack < y->stack; });
  std::map<std::vector<uint64_t>, ProgramPoint> points;
  std::vector<std::vector<uint64_t>> order;
  for (const SiteStats* s : sites) {
    std::vector<uint64_t> fs;
    for (uint64_t address : a.Frames(s->stack)) fs.push_back(index_of(address));
    if (fs.empty()) {
      if (unknown_index == 0) {
        unknown_index = ftbl.size();
        ftbl.push_back(exportnames::kUnknownStack);
      }
      fs.push_back(unknown_index);
    }
    auto [it, inserted] = points.try_emplace(fs);
    if (inserted) order.push_back(fs);
    ProgramPoint& pp = it->second;
    pp.tb += s->allocated_bytes;
    pp.tbk += s->allocations;
    pp.tl += s->total_lifetime_ns;  // ns until written
    pp.mb += s->max_live_bytes;
    pp.mbk += s->max_live_blocks;
    pp.gb += s->peak_bytes;
    pp.gbk += s->peak_blocks;
    pp.eb += s->leaked_bytes;
    pp.ebk += s->leaked_blocks;
  }

  std::string out = "{\"dhatFileVersion\":2\n,\"mode\":\"heap\"\n,\"verb\":\"Allocated\"\n";
  absl::StrAppend(&out, ",\"bklt\":true\n,\"bkacc\":false\n",
                  ",\"tu\":\"\\u00b5s\"\n,\"Mtu\":\"s\"\n,\"tuth\":", kShortLivedMicros, "\n");
  absl::StrAppend(&out, ",\"cmd\":", JsonQuote(a.summary.executable), "\n,\"pid\":", a.summary.pid,
                  "\n,\"tg\":", a.summary.peak_time_ns / 1000,
                  "\n,\"te\":", a.summary.duration_ns / 1000, "\n,\"pps\":\n[");
  bool first = true;
  for (const std::vector<uint64_t>& fs : order) {
    const ProgramPoint& pp = points[fs];
    absl::StrAppend(&out, first ? "" : "\n,", "{\"tb\":", pp.tb, ",\"tbk\":", pp.tbk,
                    ",\"tl\":", pp.tl / 1000, ",\"mb\":", pp.mb, ",\"mbk\":", pp.mbk,
                    ",\"gb\":", pp.gb, ",\"gbk\":", pp.gbk, ",\"eb\":", pp.eb, ",\"ebk\":", pp.ebk,
                    ",\"fs\":[");
    for (size_t i = 0; i < fs.size(); ++i) absl::StrAppend(&out, i ? "," : "", fs[i]);
    out += "]}";
    first = false;
  }
  out += "\n]\n,\"ftbl\":\n[";
  for (size_t i = 0; i < ftbl.size(); ++i) {
    absl::StrAppend(&out, i ? "\n," : "", JsonQuote(ftbl[i]));
  }
  out += "\n]\n}\n";
  return out;
}

}  // namespace poolscope::analysis
