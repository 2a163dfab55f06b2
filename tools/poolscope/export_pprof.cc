#include "export_pprof.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "export_names.h"

namespace poolscope::analysis {
namespace {

// The protobuf wire format, as much of it as profile.proto needs: varints (wire type 0) and
// length-delimited fields (wire type 2; strings, nested messages, packed repeated integers).
class ProtoWriter {
 public:
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  // A scalar field; proto3 leaves zeros out.
  void Int(int field, uint64_t v) {
    if (v == 0) return;
    Varint(static_cast<uint64_t>(field) << 3);
    Varint(v);
  }
  // Always written (an element of a repeated field, such as the string table's "").
  void Bytes(int field, std::string_view bytes) {
    Varint(static_cast<uint64_t>(field) << 3 | 2);
    Varint(bytes.size());
    out_.append(bytes);
  }
  void Message(int field, const ProtoWriter& message) { Bytes(field, message.out_); }
  void Packed(int field, const std::vector<uint64_t>& values) {
    if (values.empty()) return;
    ProtoWriter packed;
    for (uint64_t v : values) packed.Varint(v);
    Bytes(field, packed.out_);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// profile.proto's field numbers.
namespace profile {
constexpr int kSampleType = 1, kSample = 2, kMapping = 3, kLocation = 4, kFunction = 5,
              kStringTable = 6, kDurationNanos = 10, kPeriodType = 11, kPeriod = 12, kComment = 13;
}
namespace value_type {
constexpr int kType = 1, kUnit = 2;
}
namespace sample {
constexpr int kLocationId = 1, kValue = 2;
}
namespace mapping {
constexpr int kId = 1, kMemoryStart = 2, kMemoryLimit = 3, kFilename = 5, kBuildId = 6,
              kHasFunctions = 7;
}
namespace location {
constexpr int kId = 1, kMappingId = 2, kAddress = 3, kLine = 4;
}
namespace line {
constexpr int kFunctionId = 1;
}
namespace function {
constexpr int kId = 1, kName = 2, kSystemName = 3;
}

class StringTable {
 public:
  StringTable() { Index(""); }  // index 0 is always ""
  uint64_t Index(const std::string& s) {
    auto [it, inserted] = index_.try_emplace(s, strings_.size());
    if (inserted) strings_.push_back(s);
    return it->second;
  }
  const std::vector<std::string>& strings() const { return strings_; }

 private:
  absl::flat_hash_map<std::string, uint64_t> index_;
  std::vector<std::string> strings_;
};

std::string Gzip(const std::string& data) {
  z_stream zs{};
  // 15 + 16: the largest window, with a gzip header and trailer.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return {};
  }
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? out : std::string();
}

}  // namespace

std::string EncodePprof(const TraceAnalysis& a, const FrameNamer& name_frame) {
  exportnames::FrameNames names(name_frame);
  StringTable strings;
  ProtoWriter out;

  auto value_type = [&](int field, const char* type, const char* unit) {
    ProtoWriter vt;
    vt.Int(value_type::kType, strings.Index(type));
    vt.Int(value_type::kUnit, strings.Index(unit));
    out.Message(field, vt);
  };
  value_type(profile::kSampleType, "alloc_objects", "count");
  value_type(profile::kSampleType, "alloc_space", "bytes");
  value_type(profile::kSampleType, "inuse_objects", "count");
  value_type(profile::kSampleType, "inuse_space", "bytes");

  // Mappings: one per module, ids from 1 in the trace's order.
  for (size_t i = 0; i < a.modules.size(); ++i) {
    const ModuleInfo& m = a.modules[i];
    ProtoWriter w;
    w.Int(mapping::kId, i + 1);
    // Addresses in the file are address - load_address: pprof computes address -
    // memory_start + file_offset, so memory_start is the load address and the offset 0.
    w.Int(mapping::kMemoryStart, m.load_address);
    w.Int(mapping::kMemoryLimit, m.load_address + m.size);
    w.Int(mapping::kFilename, strings.Index(m.path));
    if (!m.build_id.empty()) {
      w.Int(mapping::kBuildId, strings.Index(absl::BytesToHexString(m.build_id)));
    }
    w.Int(mapping::kHasFunctions, 1);  // the names are ours: pprof must not re-symbolize
    out.Message(profile::kMapping, w);
  }
  auto mapping_of = [&](uint64_t address) -> uint64_t {
    // The innermost containing module, as ModuleOffsetNamer picks it.
    uint64_t best = 0;
    for (size_t i = 0; i < a.modules.size(); ++i) {
      const ModuleInfo& m = a.modules[i];
      if (address >= m.load_address && address - m.load_address < m.size &&
          (best == 0 || m.load_address > a.modules[best - 1].load_address)) {
        best = i + 1;
      }
    }
    return best;
  };

  // Functions by name, locations by address (0 is the unknown stack's pseudo-location).
  absl::flat_hash_map<std::string, uint64_t> function_ids;
  absl::flat_hash_map<uint64_t, uint64_t> location_ids;
  ProtoWriter functions, locations;
  auto function_id = [&](const std::string& name) {
    auto [it, inserted] = function_ids.try_emplace(name, function_ids.size() + 1);
    if (inserted) {
      ProtoWriter f;
      f.Int(function::kId, it->second);
      uint64_t index = strings.Index(name);
      f.Int(function::kName, index);
      f.Int(function::kSystemName, index);
      functions.Message(profile::kFunction, f);
    }
    return it->second;
  };
  auto location_id = [&](uint64_t address, bool known) {
    uint64_t key = known ? address : 0;
    auto [it, inserted] = location_ids.try_emplace(key, location_ids.size() + 1);
    if (inserted) {
      ProtoWriter l;
      l.Int(location::kId, it->second);
      if (known) {
        l.Int(location::kMappingId, mapping_of(address));
        l.Int(location::kAddress, address);
      }
      // pprof's own form for inlining: one Line per frame at the address, innermost first.
      std::string at = known ? names(address) : exportnames::kUnknownStack;
      for (std::string_view frame : FrameLines(at)) {
        ProtoWriter ln;
        ln.Int(line::kFunctionId, function_id(std::string(frame)));
        l.Message(location::kLine, ln);
      }
      locations.Message(profile::kLocation, l);
    }
    return it->second;
  };

  std::vector<const SiteStats*> sites;
  for (const SiteStats& s : a.sites) sites.push_back(&s);
  std::sort(sites.begin(), sites.end(),
            [](const SiteStats* x, const SiteStats* y) { return x->stack < y->stack; });
  for (const SiteStats* s : sites) {
    std::vector<uint64_t> ids;
    for (uint64_t address : a.Frames(s->stack)) ids.push_back(location_id(address, true));
    if (ids.empty()) ids.push_back(location_id(0, false));
    ProtoWriter w;
    w.Packed(sample::kLocationId, ids);
    w.Packed(sample::kValue,
             {s->allocations, s->allocated_bytes, s->leaked_blocks, s->leaked_bytes});
    out.Message(profile::kSample, w);
  }

  std::string encoded = out.Take();
  encoded += locations.Take();
  encoded += functions.Take();
  ProtoWriter tail;
  tail.Int(profile::kDurationNanos, a.summary.duration_ns);
  // Go's heap profiles: period_type space/bytes, period the mean bytes between samples.
  ProtoWriter period_type;
  period_type.Int(value_type::kType, strings.Index("space"));
  period_type.Int(value_type::kUnit, strings.Index("bytes"));
  tail.Message(profile::kPeriodType, period_type);
  tail.Int(profile::kPeriod, a.summary.sample_bytes);
  tail.Packed(profile::kComment,
              {strings.Index("poolscope: " + a.summary.executable +
                             (a.summary.sample_bytes ? " (sampled: figures are estimates)" : ""))});
  // The string table last: every index above is in it by now.
  for (const std::string& s : strings.strings()) tail.Bytes(profile::kStringTable, s);
  encoded += tail.Take();
  return encoded;
}

std::string ExportPprof(const TraceAnalysis& a, const FrameNamer& name_frame) {
  return Gzip(EncodePprof(a, name_frame));
}

}  // namespace poolscope::analysis
