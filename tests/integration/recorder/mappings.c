// Maps, grows and unmaps anonymous memory a known number of times, outside malloc: the trace
// must hold exactly these mappings (issue 5: anonymous memory outside malloc is seen too).
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
  for (int i = 0; i < 7; ++i) {
    char* p = mmap(NULL, 3 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    memset(p, i, 4096);
    p = mremap(p, 3 << 20, 5 << 20, MREMAP_MAYMOVE);
    if (p == MAP_FAILED || p[0] != i) return 2;
    if (munmap(p, 5 << 20) != 0) return 3;
  }
  puts("7 mappings made, grown and unmapped");
  return 0;
}
