// What a page fault costs on this machine, per GiB first touched: with 4 KiB pages, with
// transparent huge pages on memory the system has not handed out for a while, and with huge
// pages again right after a free. On a VM that reports free memory to its host (virtio-balloon
// free page reporting) the host takes back pages that stay free for a few seconds, so a huge
// page built from them costs one host fault per 4 KiB: the first-touch figure for huge pages
// then says more about the machine than about any allocator, and the bench prints it with its
// tables so that their big-arrays and mixed rows can be read.
//
// usage: fault_probe [MIB] [IDLE_S]   (IDLE_S: seconds to wait first, so that recently freed
// memory counts as "not handed out for a while")
// prints: fault_s_per_gib small=… huge_idle=… huge_again=…
#include <sys/mman.h>
#include <unistd.h>

#include "bench_common.h"

#define HUGE_PAGE ((size_t)2 << 20)

// Seconds per GiB to write one byte per 4 KiB of a fresh mapping of `bytes`.
static double touch(size_t bytes, int advice) {
  unsigned char* raw = mmap(NULL, bytes + HUGE_PAGE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return -1.0;
  unsigned char* p = (unsigned char*)(((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
  if (madvise(p, bytes, advice) != 0) {
    munmap(raw, bytes + HUGE_PAGE);
    return -1.0;
  }
  double start = bench_now();
  for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
  double seconds = bench_now() - start;
  munmap(raw, bytes + HUGE_PAGE);
  return seconds * (double)((size_t)1 << 30) / (double)bytes;
}

int main(int argc, char** argv) {
  size_t bytes = (size_t)bench_arg(argc, argv, 1, 512) << 20;
  unsigned idle = (unsigned)bench_arg(argc, argv, 2, 10);
  sleep(idle);
  double huge_idle = touch(bytes, MADV_HUGEPAGE);
  double huge_again = touch(bytes, MADV_HUGEPAGE);
  double small = touch(bytes, MADV_NOHUGEPAGE);
  printf("fault_s_per_gib small=%.3f huge_idle=%.3f huge_again=%.3f\n", small, huge_idle,
         huge_again);
  return 0;
}
