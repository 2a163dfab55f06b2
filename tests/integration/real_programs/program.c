/* Compiled by gcc.sh under the library, then run. A word-frequency table over generated text
 * (chained hash table, growing arrays, qsort), plus a call into generated code when the test
 * links generated.o. Its output depends only on its input constants. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
  char* word;
  unsigned count;
  struct entry* next;
};

struct table {
  struct entry** buckets;
  size_t nbuckets;
  size_t size;
};

static uint64_t state = 0x9e3779b97f4a7c15ull;
static uint32_t next_random(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return (uint32_t)(state >> 16);
}

static uint64_t hash_word(const char* s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; ++s) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static void grow(struct table* t) {
  size_t n = t->nbuckets ? t->nbuckets * 2 : 16;
  struct entry** b = calloc(n, sizeof *b);
  if (!b) abort();
  for (size_t i = 0; i < t->nbuckets; ++i) {
    for (struct entry* e = t->buckets[i]; e;) {
      struct entry* next = e->next;
      size_t at = hash_word(e->word) & (n - 1);
      e->next = b[at];
      b[at] = e;
      e = next;
    }
  }
  free(t->buckets);
  t->buckets = b;
  t->nbuckets = n;
}

static void add(struct table* t, const char* word) {
  if (t->size + 1 > t->nbuckets * 3 / 4) grow(t);
  size_t at = hash_word(word) & (t->nbuckets - 1);
  for (struct entry* e = t->buckets[at]; e; e = e->next) {
    if (strcmp(e->word, word) == 0) {
      e->count++;
      return;
    }
  }
  struct entry* e = malloc(sizeof *e);
  if (!e) abort();
  e->word = strdup(word);
  e->count = 1;
  e->next = t->buckets[at];
  t->buckets[at] = e;
  t->size++;
}

static int by_count(const void* a, const void* b) {
  const struct entry* x = *(const struct entry* const*)a;
  const struct entry* y = *(const struct entry* const*)b;
  if (x->count != y->count) return x->count < y->count ? 1 : -1;
  return strcmp(x->word, y->word);
}

#ifdef WITH_GENERATED
uint64_t generated_checksum(uint64_t seed);
#endif

int main(void) {
  struct table t = {0};
  char word[16];
  for (int i = 0; i < 200000; ++i) {
    int len = 1 + next_random() % 5;
    for (int j = 0; j < len; ++j) word[j] = (char)('a' + next_random() % 8);
    word[len] = '\0';
    add(&t, word);
  }
  struct entry** all = malloc(t.size * sizeof *all);
  size_t n = 0;
  for (size_t i = 0; i < t.nbuckets; ++i)
    for (struct entry* e = t.buckets[i]; e; e = e->next) all[n++] = e;
  qsort(all, n, sizeof *all, by_count);
  printf("distinct words: %zu\n", n);
  for (size_t i = 0; i < 5 && i < n; ++i) printf("  %-6s %u\n", all[i]->word, all[i]->count);
  for (size_t i = 0; i < n; ++i) {
    free(all[i]->word);
    free(all[i]);
  }
  free(all);
  free(t.buckets);
#ifdef WITH_GENERATED
  printf("generated checksum: %llu\n", (unsigned long long)generated_checksum(42));
#endif
  return 0;
}
