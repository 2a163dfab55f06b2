// Frees pointers that malloc never returned — each must be reported on one line and ignored —
// then checks the allocator still works for a million alloc/free pairs.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
  char on_stack[64];
  void* volatile stack_pointer = on_stack + 16;
  free(stack_pointer);

  char* block = malloc(100);
  free(block + 32);  // interior pointer
  free(block);
  void* volatile again = block;
  free(again);  // double free

  char* mapping = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(mapping, 0, 1 << 20);  // zeroed: no header that could pass for a glibc chunk
  free(mapping + 8192);  // into a foreign mapping
  munmap(mapping, 1 << 20);

  unsigned long checksum = 0;
  for (int i = 0; i < 1000000; ++i) {
    size_t size = 1 + (size_t)i * 7919 % 4000;
    unsigned char* p = malloc(size);
    if (p == NULL) return 1;
    p[0] = (unsigned char)i;
    p[size - 1] = (unsigned char)(i >> 8);
    checksum += p[0] + p[size - 1];
    free(p);
  }
  printf("1000000 pairs after 4 invalid frees, checksum %lu\n", checksum);
  return 0;
}
