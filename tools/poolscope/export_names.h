// Small pieces shared by the exports (pprof, speedscope, chrome, dhat): the frame names of a
// trace, asked of the FrameNamer once per address. JSON strings are report_json.h's JsonQuote.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_NAMES_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_NAMES_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "report_text.h"

namespace poolscope::analysis::exportnames {

// The FrameNamer's text for each address, asked once (a symbolizing namer is not cheap).
class FrameNames {
 public:
  explicit FrameNames(const FrameNamer& namer) : namer_(namer) {}
  std::string operator()(uint64_t address) {
    auto [it, inserted] = names_.try_emplace(address);
    if (inserted) it->second = namer_(address);
    return it->second;
  }

 private:
  const FrameNamer& namer_;
  absl::flat_hash_map<uint64_t, std::string> names_;
};

// What the exports call a stack with no frames (as the folded export does).
inline constexpr char kUnknownStack[] = "[unknown stack]";

}  // namespace poolscope::analysis::exportnames

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_EXPORT_NAMES_H_
