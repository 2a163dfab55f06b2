#include "report_json.h"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace poolscope::analysis {
namespace {

// Writes indented JSON; containers opened `one_line` (and all inside them) stay on one line.
class JsonWriter {
 public:
  void BeginObject(bool one_line = false) { Open('{', '}', one_line); }
  void EndObject() { Close(); }
  void BeginArray(bool one_line = false) { Open('[', ']', one_line); }
  void EndArray() { Close(); }
  JsonWriter& Key(std::string_view key) {
    Separate();
    out_ += JsonQuote(std::string(key));
    out_ += ": ";
    after_key_ = true;
    return *this;
  }
  void Uint(uint64_t v) { Scalar(absl::StrCat(v)); }
  void Int(int64_t v) { Scalar(absl::StrCat(v)); }
  void Bool(bool v) { Scalar(v ? "true" : "false"); }
  void Null() { Scalar("null"); }
  void String(const std::string& v) { Scalar(JsonQuote(v)); }
  void Hex(uint64_t v) { Scalar(absl::StrFormat("\"0x%x\"", v)); }
  std::string Take() {
    out_ += '\n';
    return std::move(out_);
  }

 private:
  struct Level {
    char close;
    bool one_line;
    bool empty = true;
  };
  bool OneLine() const { return !levels_.empty() && levels_.back().one_line; }
  // Before a key or a value not following a key: the comma and the line break.
  void Separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (levels_.empty()) return;
    Level& level = levels_.back();
    if (!level.empty) out_ += ',';
    if (level.one_line) {
      if (!level.empty) out_ += ' ';
    } else {
      out_ += '\n';
      out_.append(2 * levels_.size(), ' ');
    }
    level.empty = false;
  }
  void Scalar(const std::string& text) {
    Separate();
    out_ += text;
  }
  void Open(char open, char close, bool one_line) {
    Separate();
    out_ += open;
    levels_.push_back({close, one_line || OneLine()});
  }
  void Close() {
    Level level = levels_.back();
    levels_.pop_back();
    if (!level.one_line && !level.empty) {
      out_ += '\n';
      out_.append(2 * levels_.size(), ' ');
    }
    out_ += level.close;
  }

  std::string out_;
  std::vector<Level> levels_;
  bool after_key_ = false;
};

// The length of the UTF-8 sequence starting at s[i], or 0 when it is not valid UTF-8.
size_t Utf8Length(const std::string& s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n;
  uint32_t min;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) {
    n = 2, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  uint32_t code = c & (0x7f >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3f);
  }
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
  return n;
}

struct Table {
  const char* key;
  uint64_t SiteStats::*metric;
};

constexpr Table kTables[] = {
    {"peak", &SiteStats::peak_bytes},
    {"allocations", &SiteStats::allocations},
    {"leaked", &SiteStats::leaked_bytes},
    {"temporary", &SiteStats::temporary},
};

std::string HexBytes(const std::string& raw) {
  std::string out;
  for (unsigned char c : raw) absl::StrAppendFormat(&out, "%02x", c);
  return out;
}

// The innermost module containing `address` (a non-PIE executable's range starts at 0).
const ModuleInfo* ModuleOf(const std::vector<ModuleInfo>& modules, uint64_t address) {
  const ModuleInfo* best = nullptr;
  for (const ModuleInfo& m : modules) {
    if (address >= m.load_address && address - m.load_address < m.size &&
        (best == nullptr || m.load_address > best->load_address)) {
      best = &m;
    }
  }
  return best;
}

// "frames_total" and the innermost "frames" of `stack`.
void WriteFrames(JsonWriter& w, const TraceAnalysis& a, uint64_t stack, const FrameNamer& name_frame,
                 const JsonReportOptions& options) {
  w.Key("frames_total").Uint(a.Frames(stack).size());
  w.Key("frames").BeginArray();
  for (const NamedFrame& f : NamedFrames(a, stack, name_frame, options.frames_per_site)) {
    w.BeginObject(/*one_line=*/true);
    w.Key("name").String(f.name);
    w.Key("address").Hex(f.address);
    if (const ModuleInfo* m = ModuleOf(a.modules, f.address)) {
      w.Key("module").String(m->path);
      w.Key("offset").Hex(f.address - m->load_address);
    } else {
      w.Key("module").Null();
      w.Key("offset").Null();
    }
    w.Key("inlined").Bool(f.inlined);
    w.EndObject();
  }
  w.EndArray();
}

void WriteSite(JsonWriter& w, const TraceAnalysis& a, const SiteStats& s, int rank,
               const FrameNamer& name_frame, const JsonReportOptions& options) {
  w.BeginObject();
  w.Key("rank").Uint(rank);
  w.Key("stack").Uint(s.stack);
  w.Key("peak_bytes").Uint(s.peak_bytes);
  w.Key("peak_blocks").Uint(s.peak_blocks);
  w.Key("allocations").Uint(s.allocations);
  w.Key("allocated_bytes").Uint(s.allocated_bytes);
  w.Key("leaked_bytes").Uint(s.leaked_bytes);
  w.Key("leaked_blocks").Uint(s.leaked_blocks);
  w.Key("temporary").Uint(s.temporary);
  WriteFrames(w, a, s.stack, name_frame, options);
  w.EndObject();
}

void WriteMemory(JsonWriter& w, const TraceAnalysis& a) {
  const TraceSummary& s = a.summary;
  w.Key("memory").BeginObject();
  w.Key("peak_rss_bytes").Uint(s.peak_rss_bytes);
  w.Key("peak_rss_time_ns").Uint(s.peak_rss_time_ns);
  w.Key("peak_rss_huge_bytes").Uint(s.peak_rss_huge_bytes);
  w.Key("heap_timeline").BeginArray();
  for (const auto& [time, bytes] : a.heap_timeline) {
    w.BeginArray(/*one_line=*/true);
    w.Uint(time);
    w.Uint(bytes);
    w.EndArray();
  }
  w.EndArray();
  w.Key("samples").BeginArray();
  for (const MemorySample& m : a.memory_samples) {
    w.BeginObject(/*one_line=*/true);
    w.Key("time_ns").Uint(m.time_ns);
    w.Key("rss_bytes").Uint(m.rss_bytes);
    w.Key("anon_huge_bytes").Uint(m.anon_huge_bytes);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void WriteMmap(JsonWriter& w, const TraceAnalysis& a, const FrameNamer& name_frame,
               const JsonReportOptions& options) {
  const MmapStats& m = a.mmap;
  w.Key("mmap").BeginObject();
  w.Key("mmaps").Uint(m.mmaps);
  w.Key("munmaps").Uint(m.munmaps);
  w.Key("mremaps").Uint(m.mremaps);
  w.Key("peak_bytes").Uint(m.peak_bytes);
  w.Key("peak_time_ns").Uint(m.peak_time_ns);
  w.Key("live_bytes").Uint(m.live_bytes);
  w.Key("live_regions").Uint(m.live_regions);
  w.Key("largest").BeginArray();
  for (const MmapRegion& r : m.largest) {
    w.BeginObject();
    w.Key("address").Hex(r.address);
    w.Key("length").Uint(r.length);
    w.Key("anonymous").Bool(r.anonymous());
    w.Key("prot").Uint(r.prot);
    w.Key("flags").Hex(r.flags);
    w.Key("fd").Int(r.fd);
    w.Key("mapped_ns").Uint(r.mapped_ns);
    if (r.unmapped) {
      w.Key("unmapped_ns").Uint(r.unmapped_ns);
    } else {
      w.Key("unmapped_ns").Null();
    }
    w.Key("stack").Uint(r.stack);
    WriteFrames(w, a, r.stack, name_frame, options);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void WriteHistogram(JsonWriter& w, const std::vector<HistogramBucket>& buckets) {
  int first = 0, last = -1;
  for (int k = 0; k < static_cast<int>(buckets.size()); ++k) {
    if (buckets[k].blocks == 0 && buckets[k].bytes == 0) continue;
    if (last < 0) first = k;
    last = k;
  }
  w.BeginArray();
  for (int k = first; k <= last; ++k) {
    w.BeginObject(/*one_line=*/true);
    w.Key("min").Uint(BucketLow(k));
    w.Key("max").Uint(BucketHigh(k));
    w.Key("blocks").Uint(buckets[k].blocks);
    w.Key("bytes").Uint(buckets[k].bytes);
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace

std::string JsonQuote(const std::string& text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t n = Utf8Length(text, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(text, i, n);
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else {
      out += static_cast<char>(c);
    }
    i += n;
  }
  out += '"';
  return out;
}

std::string FormatJsonReport(const TraceAnalysis& a, const std::string& path,
                             const FrameNamer& name_frame, JsonReportOptions options) {
  const TraceSummary& s = a.summary;
  JsonWriter w;
  w.BeginObject();
  w.Key("schema_version").Uint(kReportSchemaVersion);
  w.Key("generator").String("poolscope");

  w.Key("trace").BeginObject();
  w.Key("path").String(path);
  w.Key("format_version").String(absl::StrCat(s.read.major, ".", s.read.minor));
  w.Key("file_bytes").Uint(s.read.file_bytes);
  w.Key("frames").Uint(s.read.frames);
  w.Key("truncated").Bool(s.read.truncated);
  w.Key("corrupt_frames").Uint(s.read.corrupt_frames);
  w.Key("skipped_bytes").Uint(s.read.skipped_bytes);
  w.Key("newer_records_skipped").Bool(!s.read.unknown_record_types.empty());
  w.EndObject();

  w.Key("process").BeginObject();
  w.Key("pid").Uint(s.pid);
  w.Key("executable").String(s.executable);
  w.Key("engine").String(s.engine);
  w.Key("sampled").Bool(s.sample_bytes != 0);
  w.Key("sample_bytes").Uint(s.sample_bytes);
  w.EndObject();

  w.Key("summary").BeginObject();
  w.Key("allocations").Uint(s.allocations);
  w.Key("frees").Uint(s.frees);
  w.Key("reallocations").Uint(s.reallocations);
  w.Key("allocated_bytes").Uint(s.allocated_bytes);
  w.Key("peak_bytes").Uint(s.peak_bytes);
  w.Key("peak_time_ns").Uint(s.peak_time_ns);
  w.Key("leaked_bytes").Uint(s.leaked_bytes);
  w.Key("leaked_blocks").Uint(s.leaked_blocks);
  w.Key("temporary").Uint(a.temporary);
  w.Key("threads").Uint(s.threads);
  w.Key("sites").Uint(a.sites.size());
  w.Key("stack_nodes").Uint(s.stack_nodes);
  w.Key("modules").Uint(s.modules);
  w.Key("phase_marks").Uint(s.phase_marks);
  w.Key("duration_ns").Uint(s.duration_ns);
  w.Key("ended").Bool(s.ended);
  if (s.ended) {
    w.Key("exit_status").Int(s.exit_status);
  } else {
    w.Key("exit_status").Null();
  }
  w.Key("caps_reached").Uint(s.caps_reached);
  w.EndObject();

  w.Key("modules").BeginArray();
  for (const ModuleInfo& m : a.modules) {
    w.BeginObject(/*one_line=*/true);
    w.Key("path").String(m.path);
    w.Key("load_address").Hex(m.load_address);
    w.Key("size").Uint(m.size);
    w.Key("build_id").String(HexBytes(m.build_id));
    w.EndObject();
  }
  w.EndArray();

  w.Key("top_sites").BeginObject();
  for (const Table& table : kTables) {
    std::vector<const SiteStats*> sites;
    for (const SiteStats& site : a.sites) {
      if (site.*(table.metric) > 0) sites.push_back(&site);
    }
    std::sort(sites.begin(), sites.end(), [&](const SiteStats* x, const SiteStats* y) {
      return x->*(table.metric) != y->*(table.metric) ? x->*(table.metric) > y->*(table.metric)
                                                      : x->stack < y->stack;
    });
    w.Key(table.key).BeginObject();
    w.Key("total_sites").Uint(sites.size());
    w.Key("sites").BeginArray();
    for (int i = 0; i < static_cast<int>(sites.size()) && i < options.sites_per_table; ++i) {
      WriteSite(w, a, *sites[i], i + 1, name_frame, options);
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndObject();

  w.Key("size_histogram");
  WriteHistogram(w, a.size_histogram);
  w.Key("lifetime_histogram");
  WriteHistogram(w, a.lifetime_histogram);

  WriteMemory(w, a);
  WriteMmap(w, a, name_frame, options);

  w.Key("threads").BeginArray();
  for (const ThreadStats& t : a.threads) {
    w.BeginObject(/*one_line=*/true);
    w.Key("thread").Uint(t.thread);
    w.Key("kernel_tid").Uint(t.kernel_tid);
    w.Key("allocations").Uint(t.allocations);
    w.Key("allocated_bytes").Uint(t.allocated_bytes);
    w.Key("frees").Uint(t.frees);
    w.Key("temporary").Uint(t.temporary);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace poolscope::analysis
