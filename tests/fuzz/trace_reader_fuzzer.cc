// libFuzzer target for the trace reader: arbitrary bytes, written to a temporary file, go
// through ReadTrace (file order), ReadTraceInTimeOrder, SummarizeTrace and AnalyzeTrace. None
// may crash, hang or touch memory it should not, whatever the file holds; an error status is
// a fine answer. Built by build_and_run.sh with clang++ -fsanitize=fuzzer,address,undefined,
// apart from the main (g++) build; the product code is used as it is.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "poolscope/trace_format.h"
#include "summary.h"
#include "trace_reader.h"

namespace {

namespace tf = poolscope::trace_format;

// Reads every byte of every string it is handed, so ASan sees any view pointing astray.
class TouchingVisitor : public tf::RecordVisitor {
 public:
  uint64_t sum = 0;
  void Touch(std::string_view s) {
    for (char c : s) sum += static_cast<unsigned char>(c);
  }
  void OnProcess(uint32_t, const tf::ProcessRecord& r) override {
    Touch(r.executable);
    Touch(r.command_line);
    Touch(r.host);
    Touch(r.engine);
  }
  void OnModuleLoad(uint32_t, const tf::ModuleRecord& r) override {
    Touch(r.path);
    Touch(r.build_id);
  }
  void OnModuleUnload(uint32_t, const tf::ModuleRecord& r) override { Touch(r.path); }
  void OnPhaseMark(uint32_t, const tf::PhaseMarkRecord& r) override { Touch(r.name); }
  void OnAlloc(uint32_t thread, const tf::AllocRecord& r) override {
    sum += thread + r.address + r.size + r.stack;
  }
  void OnFree(uint32_t, const tf::FreeRecord& r) override { sum += r.address; }
  void OnUnknown(uint32_t, uint64_t type) override { sum += type; }
};

std::string* trace_path = nullptr;
int trace_fd = -1;

bool WriteInput(const uint8_t* data, size_t size) {
  if (trace_path == nullptr) {
    const char* dir = getenv("TMPDIR");
    std::string templ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") +
                        "/poolscope-fuzz-trace.XXXXXX";
    trace_fd = mkstemp(templ.data());
    if (trace_fd < 0) {
      perror("mkstemp");
      abort();
    }
    trace_path = new std::string(templ);
    atexit([] { unlink(trace_path->c_str()); });
  }
  if (ftruncate(trace_fd, 0) != 0) return false;
  size_t done = 0;
  while (done < size) {
    ssize_t n = pwrite(trace_fd, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!WriteInput(data, size)) return 0;
  TouchingVisitor in_file_order;
  (void)poolscope::analysis::ReadTrace(*trace_path, in_file_order);
  TouchingVisitor in_time_order;
  (void)poolscope::analysis::ReadTraceInTimeOrder(*trace_path, in_time_order);
  auto summary = poolscope::analysis::SummarizeTrace(*trace_path);
  if (summary.ok()) (void)poolscope::analysis::FormatSummary(*summary, *trace_path);
  auto analysis = poolscope::analysis::AnalyzeTrace(*trace_path);
  if (analysis.ok()) {
    for (const auto& site : analysis->sites) (void)analysis->Frames(site.stack);
  }
  return 0;
}
