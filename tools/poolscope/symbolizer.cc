#include "symbolizer.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace poolscope::analysis {
namespace {

// absl::StrCat of this absl predates std::string_view arguments.
void Append(std::string& out, std::string_view s) { out.append(s); }
void Append(std::string& out, int value) { out += std::to_string(value); }
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (Append(out, args), ...);
  return out;
}

std::string Hex(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) absl::StrAppendFormat(&out, "%02x", c);
  return out.empty() ? "none" : out;
}

std::string_view Dirname(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  return slash == 0 ? std::string_view("/") : path.substr(0, slash);
}

std::string_view Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string JoinPath(std::string_view a, std::string_view b) {
  while (!a.empty() && a.back() == '/') a.remove_suffix(1);
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  return Cat(a, "/", b);
}

std::string Demangle(const char* name) {
  if (name[0] == '_' && name[1] == 'Z') {
    int status = 0;
    char* demangled = abi::__cxa_demangle(name, nullptr, nullptr, &status);
    if (status == 0 && demangled != nullptr) {
      std::string out(demangled);
      free(demangled);
      return out;
    }
    free(demangled);
  }
  return name;
}

// The GNU build-id of an ELF handle; empty when it has none.
std::string ElfBuildId(Elf* elf) {
  const void* bits = nullptr;
  ssize_t len = dwelf_elf_gnu_build_id(elf, &bits);
  if (len <= 0) return {};
  return std::string(static_cast<const char*>(bits), static_cast<size_t>(len));
}

// The file at `fd` is an ELF file whose build-id is `build_id`.
bool FdHasBuildId(int fd, std::string_view build_id) {
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  if (elf == nullptr) return false;
  bool match = elf_kind(elf) == ELF_K_ELF && ElfBuildId(elf) == build_id;
  elf_end(elf);
  return match;
}

// CRC-32 (IEEE) of the whole file, as .gnu_debuglink records it.
bool FileCrc32(int fd, uint32_t* crc_out) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  std::vector<unsigned char> buffer(1 << 16);
  off_t offset = 0;
  for (;;) {
    ssize_t n = pread(fd, buffer.data(), buffer.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    for (ssize_t i = 0; i < n; ++i) crc = table[(crc ^ buffer[i]) & 0xFF] ^ (crc >> 8);
    offset += n;
  }
  *crc_out = crc ^ 0xFFFFFFFFu;
  return true;
}

// The .gnu_debugaltlink of an ELF file (dwz): the alternate file's name and build-id.
bool ReadAltLink(const char* file_name, std::string* name, std::string* build_id) {
  int fd = open(file_name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool found = false;
  if (Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr)) {
    size_t shstrndx = 0;
    if (elf_getshdrstrndx(elf, &shstrndx) == 0) {
      for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr && !found;
           scn = elf_nextscn(elf, scn)) {
        GElf_Shdr shdr;
        if (gelf_getshdr(scn, &shdr) == nullptr) continue;
        const char* section = elf_strptr(elf, shstrndx, shdr.sh_name);
        if (section == nullptr || strcmp(section, ".gnu_debugaltlink") != 0) continue;
        Elf_Data* data = elf_getdata(scn, nullptr);
        if (data == nullptr || data->d_buf == nullptr) break;
        const char* bytes = static_cast<const char*>(data->d_buf);
        const char* nul = static_cast<const char*>(memchr(bytes, '\0', data->d_size));
        if (nul == nullptr) break;
        *name = std::string(bytes, nul);
        *build_id = std::string(nul + 1, bytes + data->d_size);
        found = true;
      }
    }
    elf_end(elf);
  }
  close(fd);
  return found;
}

// Functions of one compilation unit by address range, built once per unit: a lookup is a
// binary search instead of dwarf_getscopes' walk over every function of the unit.
class UnitIndex {
 public:
  explicit UnitIndex(Dwarf_Die* unit) {
    Collect(unit, 0);
    std::sort(ranges_.begin(), ranges_.end(), [](const Range& a, const Range& b) {
      return a.low != b.low ? a.low < b.low : a.high < b.high;
    });
    max_high_.resize(ranges_.size());
    Dwarf_Addr high = 0;
    for (size_t i = 0; i < ranges_.size(); ++i) max_high_[i] = high = std::max(high, ranges_[i].high);
  }

  // The innermost function whose code contains `pc` (a DWARF address).
  const Dwarf_Die* Find(Dwarf_Addr pc) const {
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), pc,
                               [](Dwarf_Addr a, const Range& r) { return a < r.low; });
    const Range* best = nullptr;
    for (size_t i = static_cast<size_t>(it - ranges_.begin()); i-- > 0 && max_high_[i] > pc;) {
      const Range& r = ranges_[i];
      if (r.high > pc && (best == nullptr || r.high - r.low < best->high - best->low)) best = &r;
    }
    return best == nullptr ? nullptr : &best->die;
  }

 private:
  struct Range {
    Dwarf_Addr low;
    Dwarf_Addr high;
    Dwarf_Die die;
  };

  void Collect(Dwarf_Die* parent, int depth) {
    Dwarf_Die child;
    if (depth > 64 || dwarf_child(parent, &child) != 0) return;
    do {
      switch (dwarf_tag(&child)) {
        case DW_TAG_subprogram: {
          Dwarf_Addr base, start, end;
          for (ptrdiff_t offset = 0;
               (offset = dwarf_ranges(&child, offset, &base, &start, &end)) > 0;) {
            if (end > start) ranges_.push_back({start, end, child});
          }
          Collect(&child, depth + 1);  // nested functions, methods of local classes
          break;
        }
        case DW_TAG_namespace:
        case DW_TAG_class_type:
        case DW_TAG_structure_type:
        case DW_TAG_union_type:
        case DW_TAG_module:
        case DW_TAG_lexical_block:
          Collect(&child, depth + 1);
          break;
        default:
          break;
      }
    } while (dwarf_siblingof(&child, &child) == 0);
  }

  std::vector<Range> ranges_;
  std::vector<Dwarf_Addr> max_high_;  // max_high_[i]: the highest end among ranges_[0..i]
};

// A module's function symbols by address (libdwfl's dwfl_module_addrinfo scans the whole
// table on every call). Among aliases of one address, the global one with the fewest leading
// underscores wins: "malloc" over "__libc_malloc".
class SymbolIndex {
 public:
  explicit SymbolIndex(Dwfl_Module* mod) {
    int count = dwfl_module_getsymtab(mod);
    for (int i = 1; i < count; ++i) {
      GElf_Sym sym;
      GElf_Addr address = 0;
      GElf_Word shndx = 0;
      const char* name =
          dwfl_module_getsym_info(mod, i, &sym, &address, &shndx, nullptr, nullptr);
      int type = GELF_ST_TYPE(sym.st_info);
      if (name == nullptr || name[0] == '\0' || shndx == SHN_UNDEF || address == 0 ||
          (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE)) {
        continue;
      }
      int bind = GELF_ST_BIND(sym.st_info);
      int rank = (bind == STB_LOCAL ? 0 : bind == STB_WEAK ? 1 : 2) * 4 +
                 (type == STT_NOTYPE ? 0 : 2) + (sym.st_size > 0 ? 1 : 0);
      int underscores = 0;
      while (name[underscores] == '_') ++underscores;
      symbols_.push_back({address, sym.st_size, name, rank, underscores});
    }
    std::sort(symbols_.begin(), symbols_.end(), [](const Symbol& a, const Symbol& b) {
      if (a.address != b.address) return a.address < b.address;
      if (a.rank != b.rank) return a.rank > b.rank;
      return a.underscores < b.underscores;
    });
    symbols_.erase(std::unique(symbols_.begin(), symbols_.end(),
                               [](const Symbol& a, const Symbol& b) { return a.address == b.address; }),
                   symbols_.end());
  }

  struct Symbol {
    GElf_Addr address;
    GElf_Xword size;
    const char* name;
    int rank;
    int underscores;
  };

  // The symbol containing the runtime address `pc`: a sized one must contain it, an unsized
  // one is taken up to the next symbol.
  const Symbol* Find(GElf_Addr pc) const {
    auto it = std::upper_bound(symbols_.begin(), symbols_.end(), pc,
                               [](GElf_Addr a, const Symbol& s) { return a < s.address; });
    if (it == symbols_.begin()) return nullptr;
    const Symbol& s = *(it - 1);
    return s.size == 0 || pc < s.address + s.size ? &s : nullptr;
  }

 private:
  std::vector<Symbol> symbols_;
};

bool IsCodeScope(int tag) {
  return tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block ||
         tag == DW_TAG_try_block || tag == DW_TAG_catch_block;
}

// Appends to `chain` the inlined instances inside `parent` that contain `pc`, outermost first.
bool FindInlined(Dwarf_Die parent, Dwarf_Addr pc, std::vector<Dwarf_Die>& chain, int depth) {
  Dwarf_Die child;
  if (depth > 256 || dwarf_child(&parent, &child) != 0) return false;
  do {
    int tag = dwarf_tag(&child);
    if (!IsCodeScope(tag)) continue;
    bool has_pc = dwarf_hasattr(&child, DW_AT_low_pc) || dwarf_hasattr(&child, DW_AT_ranges);
    if (has_pc ? dwarf_haspc(&child, pc) <= 0 : tag == DW_TAG_inlined_subroutine) continue;
    size_t before = chain.size();
    if (tag == DW_TAG_inlined_subroutine) chain.push_back(child);
    if (FindInlined(child, pc, chain, depth + 1) || has_pc) return true;
    chain.resize(before);  // a block without addresses that does not lead to pc
  } while (dwarf_siblingof(&child, &child) == 0);
  return false;
}

// The linkage name of a function DIE (following abstract origins and specifications), or its
// plain name; *linkage says which.
const char* DieName(Dwarf_Die* die, bool* linkage) {
  Dwarf_Attribute attr;
  for (int name : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
    if (dwarf_attr_integrate(die, name, &attr) != nullptr) {
      if (const char* s = dwarf_formstring(&attr)) {
        *linkage = true;
        return s;
      }
    }
  }
  *linkage = false;
  if (dwarf_attr_integrate(die, DW_AT_name, &attr) != nullptr) return dwarf_formstring(&attr);
  return nullptr;
}

// Where an inlined instance was called from: its DW_AT_call_file and DW_AT_call_line, and the
// unit whose file table names the file.
void CallSite(Dwarf_Die* die, const char** file, int* line, Dwarf_Die* unit) {
  *file = nullptr;
  *line = 0;
  Dwarf_Attribute attr;
  Dwarf_Word value = 0;
  if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &value) == 0) {
    *line = static_cast<int>(value);
  }
  if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &value) != 0) return;
  Dwarf_Files* files = nullptr;
  size_t count = 0;
  if (dwarf_diecu(die, unit, nullptr, nullptr) != nullptr &&
      dwarf_getsrcfiles(unit, &files, &count) == 0 && value < count) {
    *file = dwarf_filesrc(files, value, nullptr, nullptr);
  }
}

// Storage handed out in large blocks that never move: what the caches' views and spans point
// into, without an allocation (and its header) per string or per address.
template <typename T>
class BlockArena {
 public:
  T* Allocate(size_t n) {
    if (n > free_) {
      size_t size = std::max(kBlockElements, n);
      blocks_.push_back(std::make_unique<T[]>(size));
      next_ = blocks_.back().get();
      free_ = size;
    }
    T* out = next_;
    next_ += n;
    free_ -= n;
    return out;
  }

 private:
  static constexpr size_t kBlockElements = std::max<size_t>((64 << 10) / sizeof(T), 1);
  std::vector<std::unique_ptr<T[]>> blocks_;
  T* next_ = nullptr;
  size_t free_ = 0;
};

// Each distinct string stored once: function and file names repeat across many addresses.
class StringPool {
 public:
  std::string_view Intern(std::string_view s) {
    if (s.empty()) return {};
    auto it = interned_.find(s);
    if (it != interned_.end()) return *it;
    char* copy = bytes_.Allocate(s.size());
    memcpy(copy, s.data(), s.size());
    return *interned_.insert(std::string_view(copy, s.size())).first;
  }

 private:
  BlockArena<char> bytes_;
  absl::flat_hash_set<std::string_view> interned_;
};

bool IsVdso(std::string_view path) {
  return path.starts_with("linux-vdso") || path.starts_with("linux-gate") || path == "[vdso]";
}

}  // namespace

std::string FormatFrame(const SymbolizedFrame& frame) {
  std::string where = frame.module.empty()
                          ? absl::StrFormat("0x%x", frame.module_offset)
                          : absl::StrFormat("%s+0x%x", frame.module, frame.module_offset);
  if (!frame.resolved) {
    if (frame.file.empty()) return where;
    return frame.line > 0 ? Cat(where, " ", frame.file, ":", frame.line)
                          : Cat(where, " ", frame.file);
  }
  if (frame.file.empty()) return Cat(frame.function, " (", where, ")");
  if (frame.line <= 0) return Cat(frame.function, " ", frame.file);
  return Cat(frame.function, " ", frame.file, ":", frame.line);
}

struct Symbolizer::Impl {
  struct Module {
    Impl* impl = nullptr;
    uint64_t start = 0;  // runtime addresses covered: [start, end)
    uint64_t end = 0;
    uint64_t load_address = 0;
    std::string path;      // as recorded
    std::string file;      // on this machine (sysroot + path)
    std::string build_id;  // as recorded
    Dwfl_Module* dwfl_module = nullptr;  // null: not used
    std::unique_ptr<SymbolIndex> symbols;  // built on first use
  };

  explicit Impl(Options opts) : options(std::move(opts)) {
    elf_version(EV_CURRENT);
    if (options.debug_dirs.empty()) {
      debug_dirs.push_back(options.sysroot.empty() ? std::string("/usr/lib/debug")
                                                   : JoinPath(options.sysroot, "usr/lib/debug"));
    }
    for (const std::string& dir : options.debug_dirs) {
      if (dir.empty()) continue;
      if (dir[0] == '/') {
        debug_dirs.push_back(dir);
      } else {
        // libdwfl reads relative entries as subdirectories of each module's directory.
        char cwd[4096];
        debug_dirs.push_back(getcwd(cwd, sizeof(cwd)) != nullptr ? JoinPath(cwd, dir) : dir);
      }
    }
    debuginfo_path = absl::StrJoin(debug_dirs, ":");
    debuginfo_path_ptr = debuginfo_path.data();
    callbacks.find_elf = &FindElf;
    callbacks.find_debuginfo = &FindDebuginfo;
    callbacks.section_address = &dwfl_offline_section_address;
    callbacks.debuginfo_path = &debuginfo_path_ptr;
    dwfl = dwfl_begin(&callbacks);
    if (dwfl != nullptr) dwfl_report_begin(dwfl);
    reporting = dwfl != nullptr;
  }

  ~Impl() {
    if (dwfl != nullptr) dwfl_end(dwfl);
  }

  // Modules are always reported with their file: nothing to find.
  static int FindElf(Dwfl_Module*, void**, const char*, Dwarf_Addr, char**, Elf**) { return -1; }

  static int FindDebuginfo(Dwfl_Module* mod, void** userdata, const char* modname,
                           Dwarf_Addr base, const char* file_name, const char* debuglink_file,
                           GElf_Word debuglink_crc, char** debuginfo_file_name) {
    auto* module = static_cast<Module*>(*userdata);
    if (module == nullptr) return -1;
    if (module->impl->options.use_debuginfod) {
      return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name,
                                          debuglink_file, debuglink_crc, debuginfo_file_name);
    }
    // By build-id under the debug dirs (the main debug file, or dwz's alternate file): local
    // only, and checked by libdwfl. dwfl_standard_find_debuginfo would go on to debuginfod.
    int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name,
                                          debuglink_file, debuglink_crc, debuginfo_file_name);
    if (fd >= 0) return fd;
    return module->impl->FindByLink(*module, file_name, debuglink_file, debuglink_crc,
                                    debuginfo_file_name);
  }

  // .gnu_debuglink (or, for dwz, .gnu_debugaltlink) by name, in gdb's places.
  int FindByLink(const Module& module, const char* file_name, const char* link, GElf_Word crc,
                 char** found_name) {
    if (link == nullptr || link[0] == '\0' || file_name == nullptr) return -1;
    std::string alt_name, alt_build_id;
    bool alt = crc == 0 && ReadAltLink(file_name, &alt_name, &alt_build_id) && alt_name == link;
    std::string_view dir = Dirname(file_name);
    std::vector<std::string> candidates;
    if (alt) {
      candidates.push_back(link[0] == '/' ? (options.sysroot.empty()
                                                 ? std::string(link)
                                                 : JoinPath(options.sysroot, link))
                                          : JoinPath(dir, link));
      for (const std::string& d : debug_dirs) {
        candidates.push_back(JoinPath(JoinPath(d, ".dwz"), Basename(link)));
      }
    } else {
      candidates.push_back(JoinPath(dir, link));
      candidates.push_back(JoinPath(JoinPath(dir, ".debug"), link));
      for (const std::string& d : debug_dirs) {
        candidates.push_back(JoinPath(JoinPath(d, Dirname(module.path)), link));
      }
    }
    struct stat main_stat{};
    bool have_main = stat(module.file.c_str(), &main_stat) == 0;
    for (const std::string& candidate : candidates) {
      int fd = open(candidate.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      struct stat st{};
      bool ok = fstat(fd, &st) == 0 &&
                !(have_main && st.st_dev == main_stat.st_dev && st.st_ino == main_stat.st_ino);
      if (ok) {
        if (alt) {
          ok = FdHasBuildId(fd, alt_build_id);
        } else if (!module.build_id.empty()) {
          ok = FdHasBuildId(fd, module.build_id);
        } else {
          uint32_t file_crc = 0;
          ok = FileCrc32(fd, &file_crc) && file_crc == crc;
        }
      }
      if (ok) {
        free(*found_name);
        *found_name = strdup(candidate.c_str());
        return fd;
      }
      close(fd);
    }
    return -1;
  }

  // "<path> [(as <file>)]: <why>; <consequence>"
  void Warn(const Module& module, std::string_view why,
            std::string_view consequence = "its frames are left unresolved (module+offset)") {
    std::string as = module.file.empty() || module.file == module.path
                         ? std::string()
                         : Cat(" (as ", module.file, ")");
    warnings.push_back(Cat(module.path, as, ": ", why, "; ", consequence));
  }

  void AddModule(uint64_t load_address, uint64_t size, std::string_view path,
                 std::string_view build_id) {
    for (const auto& m : modules) {
      if (m->load_address == load_address && m->path == path) return;
    }
    auto owned = std::make_unique<Module>();
    Module& m = *owned;
    m.impl = this;
    m.load_address = load_address;
    m.start = load_address;
    m.end = load_address + size;
    m.path = std::string(path);
    m.build_id = std::string(build_id);
    if (!m.path.empty() && m.path[0] == '/') {
      m.file = options.sysroot.empty() ? m.path : JoinPath(options.sysroot, m.path);
    }
    modules.push_back(std::move(owned));

    int fd = -1;
    std::string problem;  // why the file cannot be used
    if (IsVdso(m.path)) {
      // The kernel's vDSO has no file: unresolved, and nothing worth a warning.
    } else if (m.file.empty()) {
      problem = "not an absolute path";
    } else if ((fd = open(m.file.c_str(), O_RDONLY | O_CLOEXEC)) < 0) {
      problem = Cat("cannot open: ", strerror(errno));
    } else if (!Check(m, fd, &problem)) {
      close(fd);
      fd = -1;
    }
    if (Module* other = Overlapping(m)) {
      Warn(m, Cat("overlaps ", other->path, ", loaded there earlier"),
           Cat("not used: frames at these addresses are taken as ", other->path, "'s"));
      if (fd >= 0) close(fd);
      return;
    }
    if (!problem.empty()) Warn(m, problem);
    if (fd >= 0 && dwfl != nullptr) {
      if (!reporting) dwfl_report_begin_add(dwfl);
      reporting = true;
      std::string name(Basename(m.path));
      Dwfl_Module* mod = dwfl_report_elf(dwfl, name.c_str(), m.file.c_str(), fd, load_address,
                                         /*add_p_vaddr=*/true);
      if (mod == nullptr) {
        close(fd);
        Warn(m, Cat("libdwfl cannot use it: ", dwfl_errmsg(-1)));
      } else {
        void** userdata = nullptr;
        dwfl_module_info(mod, &userdata, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
        *userdata = &m;
        m.dwfl_module = mod;
      }
    }
    auto at = std::upper_bound(by_start.begin(), by_start.end(), m.start,
                               [](uint64_t a, const Module* b) { return a < b->start; });
    by_start.insert(at, &m);
  }

  // Whether the file open at `fd` is the one the trace saw: same build-id, or (neither having
  // one) the same span of loaded segments. Says why not; sets the module's range when so.
  bool Check(Module& m, int fd, std::string* problem) {
    Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
    if (elf == nullptr || elf_kind(elf) != ELF_K_ELF) {
      if (elf != nullptr) elf_end(elf);
      *problem = "not an ELF file";
      return false;
    }
    std::string file_id = ElfBuildId(elf);
    // The loaded segments, as the recorder measured them and as libdwfl will place them.
    size_t count = 0;
    uint64_t low = UINT64_MAX, aligned_low = UINT64_MAX, high = 0;
    if (elf_getphdrnum(elf, &count) == 0) {
      for (size_t i = 0; i < count; ++i) {
        GElf_Phdr phdr;
        if (gelf_getphdr(elf, static_cast<int>(i), &phdr) == nullptr || phdr.p_type != PT_LOAD) {
          continue;
        }
        uint64_t align = phdr.p_align > 1 ? phdr.p_align : 1;
        low = std::min<uint64_t>(low, phdr.p_vaddr);
        aligned_low = std::min<uint64_t>(aligned_low, phdr.p_vaddr & ~(align - 1));
        high = std::max<uint64_t>(high, phdr.p_vaddr + phdr.p_memsz);
      }
    }
    elf_end(elf);
    uint64_t span = high > low ? high - low : 0;
    if (!m.build_id.empty() || !file_id.empty()) {
      if (file_id != m.build_id) {
        *problem = Cat("build-id mismatch: the trace has ", Hex(m.build_id), ", the file ",
                       Hex(file_id), " (rebuilt or replaced since)");
        return false;
      }
    } else if (span != m.end - m.start) {
      *problem = absl::StrFormat(
          "no build-id, and the file spans %u bytes where the trace has %u (rebuilt or "
          "replaced since)",
          span, m.end - m.start);
      return false;
    }
    if (span == 0) {
      *problem = "no loadable segment";
      return false;
    }
    m.start = m.load_address + aligned_low;
    m.end = m.load_address + high;
    return true;
  }

  Module* Overlapping(const Module& m) {
    for (Module* other : by_start) {
      if (other->start < m.end && m.start < other->end) return other;
    }
    return nullptr;
  }

  Module* FindModule(uint64_t pc) {
    auto it = std::upper_bound(by_start.begin(), by_start.end(), pc,
                               [](uint64_t a, const Module* b) { return a < b->start; });
    if (it == by_start.begin()) return nullptr;
    Module* m = *(it - 1);
    return pc < m->end ? m : nullptr;
  }

  std::string_view Name(const char* raw) {
    auto [it, inserted] = demangled.try_emplace(raw);
    if (inserted) it->second = strings.Intern(Demangle(raw));
    return it->second;
  }

  // A source file name made absolute with its unit's compilation directory, and tidied
  // ("/src/build/../lib/a.cc" -> "/src/lib/a.cc").
  std::string_view FileName(const char* name, Dwarf_Die* unit) {
    Dwarf_Attribute attr;
    const char* dir = unit == nullptr ? nullptr
                                      : dwarf_formstring(dwarf_attr(unit, DW_AT_comp_dir, &attr));
    auto [it, inserted] = file_names.try_emplace(std::make_pair(name, dir));
    if (inserted) {
      std::filesystem::path path(name);
      if (path.is_relative() && dir != nullptr) path = std::filesystem::path(dir) / path;
      it->second = strings.Intern(path.lexically_normal().string());
    }
    return it->second;
  }

  const SymbolIndex::Symbol* SymbolAt(Module& m, Dwarf_Addr pc) {
    if (m.symbols == nullptr) m.symbols = std::make_unique<SymbolIndex>(m.dwfl_module);
    return m.symbols->Find(pc);
  }

  std::string_view SymbolName(Module& m, Dwarf_Addr pc) {
    const SymbolIndex::Symbol* symbol = SymbolAt(m, pc);
    return symbol == nullptr ? std::string_view() : Name(symbol->name);
  }

  // The frames of `return_address`, stored for the Symbolizer's life.
  std::span<const SymbolizedFrame> ResolveAndKeep(uint64_t return_address) {
    resolving.clear();
    Resolve(return_address, resolving);
    SymbolizedFrame* kept = frames.Allocate(resolving.size());
    std::copy(resolving.begin(), resolving.end(), kept);
    return {kept, resolving.size()};
  }

  void Resolve(uint64_t return_address, std::vector<SymbolizedFrame>& out) {
    if (reporting) {
      dwfl_report_end(dwfl, nullptr, nullptr);
      reporting = false;
    }
    uint64_t pc = return_address == 0 ? 0 : return_address - 1;
    SymbolizedFrame base;
    base.module_offset = return_address;
    Module* m = FindModule(pc);
    if (m != nullptr) {
      base.module = m->path;
      base.module_offset = return_address - m->load_address;
    }
    if (m == nullptr || m->dwfl_module == nullptr) {
      out.push_back(base);
      return;
    }
    Dwfl_Module* mod = m->dwfl_module;

    // The function containing pc and the inlined instances inside it, outermost first.
    std::vector<Dwarf_Die> chain;
    Dwarf_Addr bias = 0;
    if (Dwarf_Die* unit = dwfl_module_addrdie(mod, pc, &bias)) {
      auto& index = units[unit->addr];
      if (index == nullptr) index = std::make_unique<UnitIndex>(unit);
      if (const Dwarf_Die* function = index->Find(pc - bias)) {
        chain.push_back(*function);
        FindInlined(*function, pc - bias, chain, 0);
      }
    }

    // The line table gives the innermost location; each inlined instance's call site gives the
    // location in the frame that contains it.
    const char* file = nullptr;
    int line = 0;
    Dwarf_Addr row_address = 0;
    Dwarf_Die file_unit;
    Dwarf_Die* file_unit_ptr = nullptr;
    if (Dwfl_Line* row = dwfl_module_getsrc(mod, pc)) {
      file = dwfl_lineinfo(row, &row_address, &line, nullptr, nullptr, nullptr);
      file_unit_ptr = dwfl_linecu(row);
    }
    if (chain.empty()) {
      SymbolizedFrame frame = base;
      const SymbolIndex::Symbol* symbol = SymbolAt(*m, pc);
      if (symbol != nullptr) frame.function = Name(symbol->name);
      frame.resolved = !frame.function.empty();
      // Without a function in the debug information, a line row is believed only inside the
      // symbol that holds pc: libdw can answer for code no unit describes (crt1.o's _start)
      // with the last row of some unit before it, a line in another file altogether.
      if (file != nullptr && (symbol == nullptr || row_address >= symbol->address)) {
        frame.file = FileName(file, file_unit_ptr);
        frame.line = line;
      }
      out.push_back(frame);
      return;
    }
    for (size_t i = chain.size(); i-- > 0;) {
      SymbolizedFrame frame = base;
      bool linkage = false;
      const char* raw = DieName(&chain[i], &linkage);
      if (raw != nullptr) frame.function = Name(raw);
      if (i == 0 && !linkage) {
        // No mangled name in DWARF: a C function, or a C++ one whose plain name would lose its
        // namespace and class; the symbol table tells.
        std::string_view symbol = SymbolName(*m, pc);
        if (frame.function.empty() || (!symbol.empty() && symbol != frame.function &&
                                       symbol.find("::") != std::string_view::npos)) {
          frame.function = symbol;
        }
      }
      frame.resolved = !frame.function.empty();
      frame.inlined = i > 0;
      if (file != nullptr) frame.file = FileName(file, file_unit_ptr);
      frame.line = line;
      out.push_back(frame);
      if (i > 0) {
        CallSite(&chain[i], &file, &line, &file_unit);
        file_unit_ptr = &file_unit;
      }
    }
  }

  Options options;
  std::vector<std::string> debug_dirs;  // absolute
  std::string debuginfo_path;           // debug_dirs joined with ':', for libdwfl
  char* debuginfo_path_ptr = nullptr;
  Dwfl_Callbacks callbacks{};
  Dwfl* dwfl = nullptr;
  bool reporting = false;
  std::vector<std::unique_ptr<Module>> modules;  // in the order added
  std::vector<Module*> by_start;                 // usable-or-not modules, sorted, disjoint
  std::vector<std::string> warnings;
  absl::flat_hash_map<uint64_t, std::span<const SymbolizedFrame>> cache;  // into `frames`
  BlockArena<SymbolizedFrame> frames;
  std::vector<SymbolizedFrame> resolving;  // the address being resolved
  absl::flat_hash_map<const void*, std::unique_ptr<UnitIndex>> units;
  StringPool strings;                                            // function and file names
  absl::flat_hash_map<const char*, std::string_view> demangled;  // by the raw name's address
  // By the addresses of the raw name and of its unit's compilation directory.
  absl::flat_hash_map<std::pair<const char*, const char*>, std::string_view> file_names;
};

Symbolizer::Symbolizer() : Symbolizer(Options()) {}
Symbolizer::Symbolizer(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Symbolizer::~Symbolizer() = default;
Symbolizer::Symbolizer(Symbolizer&&) noexcept = default;
Symbolizer& Symbolizer::operator=(Symbolizer&&) noexcept = default;

void Symbolizer::AddModule(uint64_t load_address, uint64_t size, std::string_view path,
                           std::string_view build_id) {
  impl_->AddModule(load_address, size, path, build_id);
}

std::span<const SymbolizedFrame> Symbolizer::Symbolize(uint64_t return_address) {
  auto [it, inserted] = impl_->cache.try_emplace(return_address);
  if (inserted) it->second = impl_->ResolveAndKeep(return_address);
  return it->second;
}

std::vector<std::string> Symbolizer::Warnings() const { return impl_->warnings; }

}  // namespace poolscope::analysis
