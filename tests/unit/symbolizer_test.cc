// The symbolizer on this very test binary (found as the recorder finds modules, with its real
// load address and build-id) and on libc: names, inlined frames, file:line, separate debug
// files, and the refusals (rebuilt or missing modules) that keep reports honest.
#include "symbolizer.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

// Helpers whose addresses and lines the tests know. Outside poolscope's namespaces, so their
// demangled names are short and certain.
namespace symtest {

__attribute__((noinline)) uintptr_t ReturnAddress() {
  auto ra = reinterpret_cast<uintptr_t>(__builtin_return_address(0));
  asm volatile("" : "+r"(ra));
  return ra;
}

__attribute__((noinline)) uintptr_t CallSite(int* line) {
  *line = __LINE__ + 1;
  uintptr_t ra = ReturnAddress();
  asm volatile("" : "+r"(ra));  // no tail call: the return address stays in this function
  return ra;
}

__attribute__((always_inline)) inline uintptr_t InlinedCallSite(int* line) {
  *line = __LINE__ + 1;
  uintptr_t ra = ReturnAddress();
  asm volatile("" : "+r"(ra));
  return ra;
}

__attribute__((noinline)) uintptr_t InlineCaller(int* inlined_line, int* call_line) {
  *call_line = __LINE__ + 1;
  uintptr_t ra = InlinedCallSite(inlined_line);
  asm volatile("" : "+r"(ra));
  return ra;
}

}  // namespace symtest

namespace poolscope::analysis {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;

struct Loaded {
  uint64_t load_address = 0;
  uint64_t size = 0;
  std::string path;
  std::string build_id;
  uint64_t text_start = 0;  // the first executable segment, runtime addresses
  uint64_t text_end = 0;
};

// The loaded objects, as the recorder sees them: dl_iterate_phdr, l_addr, the span of the
// PT_LOAD segments and the build-id from PT_NOTE; the main program's path from /proc/self/exe.
std::vector<Loaded> LoadedModules() {
  std::vector<Loaded> out;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        Loaded m;
        uint64_t low = UINT64_MAX, high = 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type == PT_LOAD) {
            low = std::min<uint64_t>(low, ph.p_vaddr);
            high = std::max<uint64_t>(high, ph.p_vaddr + ph.p_memsz);
            if ((ph.p_flags & PF_X) && m.text_start == 0) {
              m.text_start = info->dlpi_addr + ph.p_vaddr;
              m.text_end = m.text_start + ph.p_memsz;
            }
          } else if (ph.p_type == PT_NOTE) {
            auto* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
            const char* end = p + ph.p_memsz;
            while (p + sizeof(ElfW(Nhdr)) <= end) {
              auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
              const char* name = p + sizeof(*note);
              const char* desc = name + ((note->n_namesz + 3) & ~3u);
              if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
                  memcmp(name, "GNU", 4) == 0) {
                m.build_id.assign(desc, note->n_descsz);
              }
              p = desc + ((note->n_descsz + 3) & ~3u);
            }
          }
        }
        m.load_address = info->dlpi_addr;
        m.size = high > low ? high - low : 0;
        if (info->dlpi_name == nullptr || info->dlpi_name[0] == '\0') {
          char path[4096];
          ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
          m.path.assign(path, n > 0 ? n : 0);
        } else {
          m.path = info->dlpi_name;
        }
        static_cast<std::vector<Loaded>*>(data)->push_back(m);
        return 0;
      },
      &out);
  return out;
}

Loaded Self() { return LoadedModules().front(); }

std::optional<Loaded> LoadedNamed(std::string_view basename) {
  for (const Loaded& m : LoadedModules()) {
    if (std::filesystem::path(m.path).filename() == basename) return m;
  }
  return std::nullopt;
}

std::string Hex(uint64_t value) {
  char buffer[32];
  snprintf(buffer, sizeof(buffer), "0x%lx", static_cast<unsigned long>(value));
  return buffer;
}

Symbolizer::Options DebugDirs(std::vector<std::string> dirs, bool use_debuginfod = false) {
  Symbolizer::Options options;
  options.debug_dirs = std::move(dirs);
  options.use_debuginfod = use_debuginfod;
  return options;
}

Symbolizer::Options Sysroot(std::string sysroot) {
  Symbolizer::Options options;
  options.sysroot = std::move(sysroot);
  return options;
}

std::string WarningsText(const Symbolizer& s) {
  std::string text;
  for (const std::string& w : s.Warnings()) text += w + "\n";
  return text;
}

TEST(SymbolizerTest, ResolvesANamespacedFunctionWithFileAndLine) {
  Loaded self = Self();
  ASSERT_FALSE(self.build_id.empty()) << "the test binary has no build-id";
  int line = 0;
  uintptr_t ra = symtest::CallSite(&line);

  Symbolizer symbolizer;
  symbolizer.AddModule(self.load_address, self.size, self.path, self.build_id);
  std::span<const SymbolizedFrame> frames = symbolizer.Symbolize(ra);
  ASSERT_EQ(frames.size(), 1u) << FormatFrame(frames[0]);
  const SymbolizedFrame& f = frames[0];
  EXPECT_TRUE(f.resolved);
  EXPECT_FALSE(f.inlined);
  EXPECT_EQ(f.function, "symtest::CallSite(int*)");
  EXPECT_THAT(f.file, EndsWith("/symbolizer_test.cc"));
  EXPECT_EQ(f.line, line);
  EXPECT_EQ(f.module, self.path);
  EXPECT_EQ(f.module_offset, ra - self.load_address);
  EXPECT_EQ(FormatFrame(f),
            std::string(f.function) + " " + std::string(f.file) + ":" + std::to_string(line));
  EXPECT_EQ(WarningsText(symbolizer), "");

  // Cached: the same frames again.
  EXPECT_EQ(symbolizer.Symbolize(ra).data(), frames.data());
  // Names are stored once: another address of the function shares them.
  std::span<const SymbolizedFrame> next = symbolizer.Symbolize(ra + 1);
  ASSERT_EQ(next.back().function, f.function);
  EXPECT_EQ(next.back().function.data(), f.function.data());
  EXPECT_EQ(next.back().file.data(), f.file.data());
}

TEST(SymbolizerTest, ReportsInlinedFramesInnermostFirst) {
  Loaded self = Self();
  int inlined_line = 0, call_line = 0;
  uintptr_t ra = symtest::InlineCaller(&inlined_line, &call_line);

  Symbolizer symbolizer;
  symbolizer.AddModule(self.load_address, self.size, self.path, self.build_id);
  std::span<const SymbolizedFrame> frames = symbolizer.Symbolize(ra);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].function, "symtest::InlinedCallSite(int*)");
  EXPECT_TRUE(frames[0].inlined);
  EXPECT_TRUE(frames[0].resolved);
  EXPECT_THAT(frames[0].file, EndsWith("/symbolizer_test.cc"));
  EXPECT_EQ(frames[0].line, inlined_line);
  EXPECT_EQ(frames[1].function, "symtest::InlineCaller(int*, int*)");
  EXPECT_FALSE(frames[1].inlined);
  EXPECT_THAT(frames[1].file, EndsWith("/symbolizer_test.cc"));
  EXPECT_EQ(frames[1].line, call_line);
  for (const SymbolizedFrame& f : frames) {
    EXPECT_EQ(f.module, self.path);
    EXPECT_EQ(f.module_offset, ra - self.load_address);
  }
}

TEST(SymbolizerTest, ResolvesAFunctionAddress) {
  Loaded self = Self();
  Symbolizer symbolizer;
  symbolizer.AddModule(self.load_address, self.size, self.path, self.build_id);
  // Symbolize looks up address - 1: a function's own address is its entry plus one.
  uintptr_t entry = reinterpret_cast<uintptr_t>(&symtest::InlineCaller);
  std::span<const SymbolizedFrame> frames = symbolizer.Symbolize(entry + 1);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().function, "symtest::InlineCaller(int*, int*)");
  EXPECT_THAT(frames.back().file, EndsWith("/symbolizer_test.cc"));
}

TEST(SymbolizerTest, BuildIdMismatchLeavesTheModuleUnresolvedAndWarns) {
  Loaded self = Self();
  int line = 0;
  uintptr_t ra = symtest::CallSite(&line);
  std::string other_id = self.build_id;
  other_id[0] = static_cast<char>(other_id[0] ^ 0xff);

  Symbolizer symbolizer;
  symbolizer.AddModule(self.load_address, self.size, self.path, other_id);
  std::span<const SymbolizedFrame> frames = symbolizer.Symbolize(ra);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_FALSE(frames[0].resolved);
  EXPECT_EQ(frames[0].function, "");
  EXPECT_EQ(frames[0].file, "");
  EXPECT_EQ(frames[0].module, self.path);
  EXPECT_EQ(frames[0].module_offset, ra - self.load_address);
  EXPECT_EQ(FormatFrame(frames[0]), self.path + "+" + Hex(ra - self.load_address));
  std::vector<std::string> warnings = symbolizer.Warnings();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr(self.path));
  EXPECT_THAT(warnings[0], HasSubstr("build-id mismatch"));

  // A trace without a build-id for a file that has one: a different file as well.
  Symbolizer no_id;
  no_id.AddModule(self.load_address, self.size, self.path, "");
  EXPECT_FALSE(no_id.Symbolize(ra)[0].resolved);
  EXPECT_THAT(WarningsText(no_id), HasSubstr("build-id mismatch"));
}

TEST(SymbolizerTest, MissingFileShownAsPathPlusOffsetWithAWarning) {
  const std::string path = "/nonexistent/poolscope/libgone.so";
  Symbolizer symbolizer;
  symbolizer.AddModule(0x7f0000000000, 0x20000, path, std::string("\x01\x02\x03\x04", 4));
  std::span<const SymbolizedFrame> frames = symbolizer.Symbolize(0x7f0000001234);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_FALSE(frames[0].resolved);
  EXPECT_EQ(frames[0].module, path);
  EXPECT_EQ(frames[0].module_offset, 0x1234u);
  EXPECT_EQ(FormatFrame(frames[0]), path + "+0x1234");
  std::vector<std::string> warnings = symbolizer.Warnings();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr(path));
  EXPECT_THAT(warnings[0], HasSubstr("cannot open"));
}

TEST(SymbolizerTest, AddressOutsideEveryModuleIsUnresolved) {
  Loaded self = Self();
  Symbolizer symbolizer;
  symbolizer.AddModule(self.load_address, self.size, self.path, self.build_id);
  for (uint64_t address : {uint64_t{0}, uint64_t{1}, uint64_t{0x10}, ~uint64_t{0}}) {
    std::span<const SymbolizedFrame> frames = symbolizer.Symbolize(address);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_FALSE(frames[0].resolved);
    EXPECT_EQ(frames[0].module, "");
    EXPECT_EQ(frames[0].module_offset, address);
    EXPECT_EQ(FormatFrame(frames[0]), Hex(address));
  }
  // And with no module at all.
  Symbolizer empty;
  EXPECT_FALSE(empty.Symbolize(0x401000)[0].resolved);
  EXPECT_EQ(WarningsText(symbolizer) + WarningsText(empty), "");
}

TEST(SymbolizerTest, RepeatedOverlappingAndLateModules) {
  Loaded self = Self();
  int line = 0;
  uintptr_t ra = symtest::CallSite(&line);
  Symbolizer symbolizer;
  // Before any module: outside every module, and cached as such.
  EXPECT_FALSE(symbolizer.Symbolize(ra)[0].resolved);
  symbolizer.AddModule(self.load_address, self.size, self.path, self.build_id);
  symbolizer.AddModule(self.load_address, self.size, self.path, self.build_id);  // repeated
  symbolizer.AddModule(self.load_address + 4096, 8192, "/nonexistent/poolscope/libover.so", "");
  symbolizer.AddModule(0x7ff000000000, 0x1000, "linux-vdso.so.1", std::string("\x05\x06", 2));
  EXPECT_FALSE(symbolizer.Symbolize(ra)[0].resolved);  // the cached answer stands
  // A module added after symbolizing is used for new addresses.
  std::span<const SymbolizedFrame> frames = symbolizer.Symbolize(ra + 1);
  EXPECT_EQ(frames.back().function, "symtest::CallSite(int*)");
  EXPECT_EQ(frames.back().module, self.path);
  EXPECT_EQ(FormatFrame(symbolizer.Symbolize(0x7ff000000100)[0]), "linux-vdso.so.1+0x100");
  // The overlapping module is refused with one warning; the vDSO needs none.
  std::vector<std::string> warnings = symbolizer.Warnings();
  ASSERT_EQ(warnings.size(), 1u) << WarningsText(symbolizer);
  EXPECT_THAT(warnings[0], HasSubstr("/nonexistent/poolscope/libover.so: overlaps " + self.path));
}

// libc's malloc, from its dynamic symbol table: no debug directory is given.
TEST(SymbolizerTest, LibcMallocFromTheSymbolTable) {
  std::optional<Loaded> libc = LoadedNamed("libc.so.6");
  ASSERT_TRUE(libc.has_value());
  void* handle = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(handle, nullptr);
  auto malloc_address = reinterpret_cast<uintptr_t>(dlsym(handle, "malloc"));
  dlclose(handle);
  ASSERT_GE(malloc_address, libc->text_start);
  ASSERT_LT(malloc_address, libc->text_end);

  Symbolizer symbolizer(DebugDirs({"/nonexistent/poolscope-debug"}));
  symbolizer.AddModule(libc->load_address, libc->size, libc->path, libc->build_id);
  std::span<const SymbolizedFrame> frames = symbolizer.Symbolize(malloc_address + 1);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(frames[0].resolved);
  EXPECT_EQ(frames[0].function, "malloc");
  EXPECT_EQ(frames[0].file, "");  // a symbol table has no lines
  EXPECT_EQ(frames[0].module, libc->path);
  EXPECT_EQ(FormatFrame(frames[0]),
            "malloc (" + libc->path + "+" + Hex(malloc_address + 1 - libc->load_address) + ")");
  EXPECT_EQ(WarningsText(symbolizer), "");
}

// With Debian's libc6-dbg, libc's DWARF comes from /usr/lib/debug/.build-id/xx/yyyy.debug.
TEST(SymbolizerTest, LibcDebugInfoByBuildIdPath) {
  std::optional<Loaded> libc = LoadedNamed("libc.so.6");
  ASSERT_TRUE(libc.has_value() && !libc->build_id.empty());
  std::string hex;
  for (unsigned char c : libc->build_id) {
    char b[3];
    snprintf(b, sizeof(b), "%02x", c);
    hex += b;
  }
  std::string debug_file =
      "/usr/lib/debug/.build-id/" + hex.substr(0, 2) + "/" + hex.substr(2) + ".debug";
  if (access(debug_file.c_str(), R_OK) != 0) GTEST_SKIP() << "no " << debug_file;
  void* handle = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  auto malloc_address = reinterpret_cast<uintptr_t>(dlsym(handle, "malloc"));
  dlclose(handle);

  Symbolizer symbolizer;
  symbolizer.AddModule(libc->load_address, libc->size, libc->path, libc->build_id);
  std::span<const SymbolizedFrame> frames = symbolizer.Symbolize(malloc_address + 1);
  ASSERT_FALSE(frames.empty());
  EXPECT_TRUE(frames.back().resolved);
  EXPECT_THAT(frames.back().function, HasSubstr("malloc"));
  EXPECT_THAT(frames.back().file, EndsWith("malloc.c"));
  EXPECT_GT(frames.back().line, 0);
}

// Copies of the test binary, split the ways distributions split debug information, in a
// temporary directory shared by the tests below.
class SeparateDebugTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (system("objcopy --version >/dev/null 2>&1") != 0) return;
    char dir_template[] = "/tmp/poolscope-symbolizer-test.XXXXXX";
    if (mkdtemp(dir_template) == nullptr) return;
    dir_ = dir_template;
    Loaded self = Self();
    std::string q = "'" + dir_ + "'";
    std::string exe = "'" + self.path + "'";
    std::string hex;
    for (unsigned char c : self.build_id) {
      char b[3];
      snprintf(b, sizeof(b), "%02x", c);
      hex += b;
    }
    std::string commands =
        // The debug part alone.
        "objcopy --only-keep-debug " + exe + " " + q + "/full.debug && "
        // Stripped, pointing to it with .gnu_debuglink (found next to the binary).
        "mkdir -p " + q + "/linked && cp " + q + "/full.debug " + q + "/linked/app.debug && "
        "objcopy --strip-debug --add-gnu-debuglink=" + q + "/linked/app.debug " + exe + " " +
        q + "/linked/app && "
        // Stripped without a link, its debug file under a debug dir's .build-id tree.
        "mkdir -p " + q + "/debug/.build-id/" + hex.substr(0, 2) + " && "
        "cp " + q + "/full.debug " + q + "/debug/.build-id/" + hex.substr(0, 2) + "/" +
        hex.substr(2) + ".debug && "
        "objcopy --strip-debug " + exe + " " + q + "/bare && "
        // Without a build-id.
        "objcopy --remove-section=.note.gnu.build-id " + exe + " " + q + "/no-build-id && "
        // The whole binary under a sysroot, as if from another machine.
        "mkdir -p " + q + "/root/opt/app && cp " + exe + " " + q + "/root/opt/app/app";
    ready_ = system(commands.c_str()) == 0;
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void SetUp() override {
    if (!ready_) GTEST_SKIP() << "objcopy is needed to split debug information";
  }

  static std::string dir_;
  static bool ready_;
};
std::string SeparateDebugTest::dir_;
bool SeparateDebugTest::ready_ = false;

TEST_F(SeparateDebugTest, FollowsGnuDebuglink) {
  Loaded self = Self();
  int line = 0;
  uintptr_t ra = symtest::CallSite(&line);
  Symbolizer symbolizer(DebugDirs({"/nonexistent/poolscope-debug"}));
  symbolizer.AddModule(self.load_address, self.size, dir_ + "/linked/app", self.build_id);
  std::span<const SymbolizedFrame> frames = symbolizer.Symbolize(ra);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].function, "symtest::CallSite(int*)");
  EXPECT_THAT(frames[0].file, EndsWith("/symbolizer_test.cc"));
  EXPECT_EQ(frames[0].line, line);
}

TEST_F(SeparateDebugTest, FindsDebugFileByBuildIdUnderADebugDir) {
  Loaded self = Self();
  int inlined_line = 0, call_line = 0;
  uintptr_t ra = symtest::InlineCaller(&inlined_line, &call_line);
  Symbolizer symbolizer(DebugDirs({dir_ + "/debug"}));
  symbolizer.AddModule(self.load_address, self.size, dir_ + "/bare", self.build_id);
  std::span<const SymbolizedFrame> frames = symbolizer.Symbolize(ra);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].function, "symtest::InlinedCallSite(int*)");
  EXPECT_EQ(frames[0].line, inlined_line);
  EXPECT_EQ(frames[1].function, "symtest::InlineCaller(int*, int*)");
  EXPECT_EQ(frames[1].line, call_line);
}

TEST_F(SeparateDebugTest, FallsBackToTheSymbolTableWithoutDebugInfo) {
  Loaded self = Self();
  int line = 0;
  uintptr_t ra = symtest::CallSite(&line);
  Symbolizer symbolizer(DebugDirs({"/nonexistent/poolscope-debug"}));
  symbolizer.AddModule(self.load_address, self.size, dir_ + "/bare", self.build_id);
  std::span<const SymbolizedFrame> frames = symbolizer.Symbolize(ra);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(frames[0].resolved);
  EXPECT_EQ(frames[0].function, "symtest::CallSite(int*)");  // demangled from .symtab
  EXPECT_EQ(frames[0].file, "");
}

TEST_F(SeparateDebugTest, PrefixesTheSysroot) {
  Loaded self = Self();
  int line = 0;
  uintptr_t ra = symtest::CallSite(&line);
  Symbolizer symbolizer(Sysroot(dir_ + "/root"));
  symbolizer.AddModule(self.load_address, self.size, "/opt/app/app", self.build_id);
  std::span<const SymbolizedFrame> frames = symbolizer.Symbolize(ra);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].function, "symtest::CallSite(int*)");
  EXPECT_EQ(frames[0].line, line);
  EXPECT_EQ(frames[0].module, "/opt/app/app");  // as the trace has it
  EXPECT_EQ(WarningsText(symbolizer), "");

  // Without the sysroot the file is not there.
  Symbolizer plain;
  plain.AddModule(self.load_address, self.size, "/opt/app/app", self.build_id);
  EXPECT_FALSE(plain.Symbolize(ra)[0].resolved);
  EXPECT_THAT(WarningsText(plain), HasSubstr("/opt/app/app"));
}

// Without build-ids on either side, the file is taken if its segments span what the trace
// recorded, and refused otherwise.
TEST_F(SeparateDebugTest, WithoutBuildIdsComparesTheSpan) {
  Loaded self = Self();
  int line = 0;
  uintptr_t ra = symtest::CallSite(&line);
  Symbolizer same;
  same.AddModule(self.load_address, self.size, dir_ + "/no-build-id", "");
  EXPECT_EQ(same.Symbolize(ra)[0].function, "symtest::CallSite(int*)");
  EXPECT_EQ(same.Symbolize(ra)[0].line, line);
  EXPECT_EQ(WarningsText(same), "");

  Symbolizer other;
  other.AddModule(self.load_address, self.size + 4096, dir_ + "/no-build-id", "");
  EXPECT_FALSE(other.Symbolize(ra)[0].resolved);
  EXPECT_THAT(WarningsText(other), HasSubstr("no build-id"));
}

// A debuginfod "server" that counts the connections made to it and closes them at once.
class FakeDebuginfod {
 public:
  FakeDebuginfod() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    url_ = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 50) == 1) {
          int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
          if (client >= 0) {
            ++connections_;
            close(client);
          }
        }
      }
    });
  }
  ~FakeDebuginfod() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  const std::string& url() const { return url_; }
  int connections() const { return connections_; }

 private:
  int fd_ = -1;
  std::string url_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
};

TEST_F(SeparateDebugTest, ConsultsDebuginfodOnlyWhenAsked) {
  FakeDebuginfod server;
  ASSERT_FALSE(server.url().empty());
  std::string cache = dir_ + "/debuginfod-cache";
  setenv("DEBUGINFOD_URLS", server.url().c_str(), 1);
  setenv("DEBUGINFOD_CACHE_PATH", cache.c_str(), 1);
  setenv("DEBUGINFOD_TIMEOUT", "5", 1);
  Loaded self = Self();
  int line = 0;
  uintptr_t ra = symtest::CallSite(&line);

  // The stripped copy has no debug information anywhere local: only debuginfod could help.
  {
    Symbolizer symbolizer(DebugDirs({"/nonexistent/poolscope-debug"}));
    symbolizer.AddModule(self.load_address, self.size, dir_ + "/bare", self.build_id);
    EXPECT_EQ(symbolizer.Symbolize(ra)[0].function, "symtest::CallSite(int*)");
    EXPECT_EQ(symbolizer.Symbolize(ra)[0].file, "");
  }
  EXPECT_EQ(server.connections(), 0);

  // The same lookup asked to use debuginfod reaches the server (which has nothing).
  {
    Symbolizer symbolizer(
        DebugDirs({"/nonexistent/poolscope-debug"}, /*use_debuginfod=*/true));
    symbolizer.AddModule(self.load_address, self.size, dir_ + "/bare", self.build_id);
    EXPECT_EQ(symbolizer.Symbolize(ra)[0].function, "symtest::CallSite(int*)");
  }
  EXPECT_GT(server.connections(), 0);
  unsetenv("DEBUGINFOD_URLS");
  unsetenv("DEBUGINFOD_CACHE_PATH");
  unsetenv("DEBUGINFOD_TIMEOUT");
}

// The resident set, from /proc/self/statm.
uint64_t ResidentBytes() {
  unsigned long size = 0, resident = 0;
  FILE* f = fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
  fclose(f);
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// Addresses spread over a module's code, as many distinct ones as a large report has.
TEST(SymbolizerTest, ManyDistinctAddressesTakeLittleTimeAndMemory) {
  constexpr uint64_t kAddresses = 100000;
  std::vector<Loaded> modules = {Self()};
  if (std::optional<Loaded> libc = LoadedNamed("libc.so.6")) modules.push_back(*libc);
  for (const Loaded& m : modules) {
    uint64_t resident_before = ResidentBytes();
    Symbolizer symbolizer;
    symbolizer.AddModule(m.load_address, m.size, m.path, m.build_id);
    uint64_t step = std::max<uint64_t>(1, (m.text_end - m.text_start) / kAddresses);
    auto start = std::chrono::steady_clock::now();
    uint64_t resolved = 0, frames = 0, count = 0;
    for (uint64_t a = m.text_start + 1; a < m.text_end && count < kAddresses; a += step, ++count) {
      std::span<const SymbolizedFrame> result = symbolizer.Symbolize(a);
      frames += result.size();
      resolved += result.back().resolved;
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Includes the pages of the module and its debug information libdw has read.
    double grown_mib = (static_cast<double>(ResidentBytes()) - resident_before) / (1 << 20);
    printf("%s: %lu addresses, %lu frames, %lu resolved in %.2f s, resident set +%.1f MiB\n",
           m.path.c_str(), static_cast<unsigned long>(count), static_cast<unsigned long>(frames),
           static_cast<unsigned long>(resolved), seconds, grown_mib);
    EXPECT_GT(resolved, count / 2);
    EXPECT_LT(seconds, 30.0);  // seconds at most on a loaded machine; a bound, not a benchmark
    // Bounds, not benchmarks: ~50 MiB here, ~150 MiB before names were stored once.
    EXPECT_LT(grown_mib, 100.0);
  }
}

}  // namespace
}  // namespace poolscope::analysis
