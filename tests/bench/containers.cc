// Workload (f): C++ containers - std::map, std::unordered_map, std::string and std::vector
// churn, all through operator new/delete.
//
// Each round: a std::map<uint64_t, std::string> of about MAP_SIZE entries gets a batch of
// inserts and erases at random keys; a std::unordered_map<std::string, uint64_t> is rebuilt
// from strings (longer than the small-string buffer, so they allocate) and queried; a
// std::vector<std::string> grows by push_back and is sorted; a report string is built by
// appending. Sizes and keys come from a seeded generator, so the checksum is fixed.
//
// usage: containers [ROUNDS] [MAP_SIZE]
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench_common.h"

namespace {

// A string longer than the small-string buffer whose content depends only on `tag`.
std::string MakeString(uint64_t tag) {
  std::string s = "item-" + std::to_string(tag) + "-";
  size_t extra = 16 + ((tag * 2654435761u) >> 7) % 80;
  s.reserve(s.size() + extra);
  for (size_t i = 0; i < extra; i++) s.push_back(static_cast<char>('a' + (tag + i) % 26));
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t rounds = bench_arg(argc, argv, 1, 1000);
  uint64_t map_size = bench_arg(argc, argv, 2, 20000);
  bench_rng rng = {2024};
  uint64_t checksum = 0;
  uint64_t tag = 0;

  std::map<uint64_t, std::string> ordered;
  for (uint64_t i = 0; i < map_size; i++) {
    ordered.emplace(bench_next(&rng), MakeString(tag++));
  }

  for (uint64_t r = 0; r < rounds; r++) {
    // Ordered map: a batch of inserts, then the same number of erases at random positions.
    uint64_t batch = map_size / 20 + 1;
    for (uint64_t i = 0; i < batch; i++) {
      ordered.emplace(bench_next(&rng), MakeString(tag++));
    }
    for (uint64_t i = 0; i < batch && !ordered.empty(); i++) {
      auto it = ordered.lower_bound(bench_next(&rng));
      if (it == ordered.end()) it = ordered.begin();
      checksum = checksum * 31 + it->second.size();
      ordered.erase(it);
    }

    // Hash map keyed by strings: build, query, drop.
    std::unordered_map<std::string, uint64_t> hashed;
    uint64_t keys = batch * 4;
    for (uint64_t i = 0; i < keys; i++) hashed[MakeString(i % (keys / 2 + 1))] += i;
    for (uint64_t i = 0; i < keys; i += 3) {
      auto it = hashed.find(MakeString(i));
      if (it != hashed.end()) checksum += it->second;
    }
    checksum = checksum * 31 + hashed.size();

    // Vector of strings: grow, sort, keep a few.
    std::vector<std::string> words;
    for (uint64_t i = 0; i < batch * 2; i++) words.push_back(MakeString(tag++));
    std::sort(words.begin(), words.end());
    checksum = checksum * 31 + words.front().size() + words.back().size();

    // A report string grown by appends.
    std::string report;
    for (uint64_t i = 0; i < batch; i += 2) {
      report += words[i];
      report += ';';
    }
    checksum = checksum * 31 + report.size();
  }
  for (const auto& [key, value] : ordered) checksum += key ^ value.size();
  std::printf("checksum %016llx\n", static_cast<unsigned long long>(checksum));
  return 0;
}
