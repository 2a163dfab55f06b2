// Writes a trace with COUNT distinct allocation sites, one return address each, spread evenly
// over the executable code of the ELF file MODULE (loaded, in the trace, where the file says or
// at an arbitrary base for a position-independent one): what `poolscope report --format html`
// or `poolscope export --format folded` must symbolize one by one. For measuring the
// symbolizer's time and memory on many addresses (docs/PERFORMANCE.md); not a test.
// Usage: many_sites_trace MODULE COUNT OUTPUT
#include <elf.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "poolscope/trace_format.h"
#include "trace_builder.h"

namespace tf = poolscope::trace_format;

namespace {

struct Module {
  uint64_t bias = 0;                      // the load address, as the recorder records it (l_addr)
  uint64_t size = 0;                      // span of the PT_LOAD segments
  uint64_t text_start = 0, text_end = 0;  // the executable segment, runtime addresses
  std::string build_id;
};

// The module's layout from its program headers (64-bit little-endian ELF only).
bool ReadModule(const std::string& bytes, Module& m) {
  if (bytes.size() < sizeof(Elf64_Ehdr) || memcmp(bytes.data(), ELFMAG, SELFMAG) != 0 ||
      bytes[EI_CLASS] != ELFCLASS64) {
    return false;
  }
  Elf64_Ehdr eh;
  memcpy(&eh, bytes.data(), sizeof(eh));
  m.bias = eh.e_type == ET_DYN ? 0x555555000000 : 0;
  uint64_t low = UINT64_MAX, high = 0;
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    size_t at = eh.e_phoff + static_cast<size_t>(i) * eh.e_phentsize;
    if (at + sizeof(ph) > bytes.size()) return false;
    memcpy(&ph, bytes.data() + at, sizeof(ph));
    if (ph.p_type == PT_LOAD) {
      low = std::min(low, ph.p_vaddr);
      high = std::max(high, ph.p_vaddr + ph.p_memsz);
      if (ph.p_flags & PF_X) {
        m.text_start = m.bias + ph.p_vaddr;
        m.text_end = m.bias + ph.p_vaddr + ph.p_memsz;
      }
    }
    if (ph.p_type == PT_NOTE) {
      // Notes: namesz, descsz, type, name (padded to 4), desc (padded to 4).
      for (size_t n = ph.p_offset; n + 12 <= ph.p_offset + ph.p_filesz && n + 12 <= bytes.size();) {
        uint32_t h[3];
        memcpy(h, bytes.data() + n, sizeof(h));
        size_t name = n + 12, desc = name + ((h[0] + 3) & ~3u);
        if (desc + h[1] > bytes.size()) break;
        if (h[2] == NT_GNU_BUILD_ID && h[0] == 4 && memcmp(bytes.data() + name, "GNU", 4) == 0) {
          m.build_id.assign(bytes.data() + desc, h[1]);
        }
        n = desc + ((h[1] + 3) & ~3u);
      }
    }
  }
  m.size = high > low ? high - (low & ~0xfffull) : 0;
  return m.text_end > m.text_start;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s MODULE COUNT OUTPUT\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Module m;
  if (!ReadModule(bytes, m)) {
    fprintf(stderr, "%s: not a 64-bit ELF file with executable code\n", argv[1]);
    return 2;
  }
  uint64_t count = strtoull(argv[2], nullptr, 10);
  uint64_t step = std::max<uint64_t>(1, (m.text_end - m.text_start) / std::max<uint64_t>(count, 1));

  poolscope::testutil::TraceBuilder b;
  b.Frame(0, [&](tf::FrameEncoder& e) {
    tf::ProcessRecord p;
    p.pid = 1;
    p.executable = argv[1];
    p.command_line = argv[1];
    p.engine = "libc";
    p.page_size = 4096;
    p.huge_page_size = 2 << 20;
    e.PutProcess(p);
    e.PutModuleLoad({1, m.bias, m.size, argv[1], m.build_id});
  });
  // A stack node, then an allocation that stays live, per site; as many as fit a frame.
  constexpr uint64_t kSitesPerFrame = 500;
  for (uint64_t first = 0; first < count; first += kSitesPerFrame) {
    b.Frame(1, [&](tf::FrameEncoder& e) {
      for (uint64_t i = first; i < std::min(count, first + kSitesPerFrame); ++i) {
        e.PutStackNode({i + 1, 0, m.text_start + 1 + i * step});
        e.PutAlloc({10 + i, 0x10000000 + 64 * i, 16 + i % 512, i + 1, tf::AllocKind::kMalloc});
      }
    });
  }
  b.Frame(0, [&](tf::FrameEncoder& e) { e.PutEnd({10 + count, 0}); });
  std::ifstream trace(b.path(), std::ios::binary);
  std::ofstream out(argv[3], std::ios::binary | std::ios::trunc);
  out << trace.rdbuf();
  return out ? 0 : 1;
}
