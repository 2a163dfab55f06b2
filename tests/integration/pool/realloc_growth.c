// Grows one block by realloc from 1 KiB to 1 GiB in many steps, checking its contents at every
// step, then frees it. With the pool engine the large block moves by mremap, not by copying.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  const size_t kTarget = (size_t)1 << 30;
  size_t size = 1024;
  unsigned char* p = malloc(size);
  for (size_t i = 0; i < size; ++i) p[i] = (unsigned char)(i * 31);
  int steps = 0;
  while (size < kTarget) {
    size_t next = size < ((size_t)8 << 20) ? size * 2 : size + ((size_t)24 << 20);
    if (next > kTarget) next = kTarget;
    unsigned char* q = realloc(p, next);
    if (q == NULL) {
      printf("realloc to %zu failed\n", next);
      return 1;
    }
    // The first KiB never changes; one byte per MiB written so far must have survived too.
    for (size_t i = 0; i < 1024; ++i) {
      if (q[i] != (unsigned char)(i * 31)) {
        printf("contents lost at step %d\n", steps);
        return 1;
      }
    }
    for (size_t at = (size_t)1 << 20; at < size; at += (size_t)1 << 20) {
      if (q[at] != (unsigned char)(at >> 20)) {
        printf("byte %zu lost at step %d\n", at, steps);
        return 1;
      }
    }
    for (size_t at = (size_t)1 << 20; at < next; at += (size_t)1 << 20) q[at] = (unsigned char)(at >> 20);
    p = q;
    size = next;
    steps++;
  }
  free(p);
  printf("grew to %zu MiB in %d steps, contents intact\n", size >> 20, steps);
  return 0;
}
