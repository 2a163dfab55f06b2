// Allocations of every C and C++ kind, a known number of each, so a trace can be checked to
// name each block by the call that made it: 300 malloc, 200 operator new, 100 operator new[],
// 50 calloc, 40 aligned (posix_memalign), all freed as they must be.
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>

struct Item {
  long value[3];
};

int main() {
  long total = 0;
  for (int i = 0; i < 300; ++i) {
    char* volatile p = static_cast<char*>(malloc(static_cast<size_t>(24 + i)));
    p[0] = static_cast<char>(i);
    total += p[0];
    free(p);
  }
  for (int i = 0; i < 200; ++i) {
    Item* volatile item = new Item{{i, i, i}};
    total += item->value[1];
    delete item;
  }
  for (int i = 0; i < 100; ++i) {
    Item* volatile items = new Item[static_cast<size_t>(i % 7 + 2)];
    items[1].value[0] = i;
    total += items[1].value[0];
    delete[] items;
  }
  for (int i = 0; i < 50; ++i) {
    int* volatile p = static_cast<int*>(calloc(static_cast<size_t>(i + 1), sizeof(int)));
    total += p[0];
    free(p);
  }
  for (int i = 0; i < 40; ++i) {
    void* p = nullptr;
    if (posix_memalign(&p, 64, 100) != 0) return 1;
    free(p);
  }
  char line[32];
  int n = snprintf(line, sizeof(line), "total %ld\n", total);
  return write(1, line, static_cast<size_t>(n)) == n ? 0 : 1;
}
