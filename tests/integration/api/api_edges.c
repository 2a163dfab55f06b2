/* The allocation API's edge cases, printed as implementation-independent facts.
 *
 * differential.sh runs this plain and under the library and requires identical output, so every
 * line is a fact glibc 2.36 defines (null or not, errno, return codes, alignment, contents),
 * never a pointer or a usable size, which differ between allocators. errno is set to a sentinel
 * before each call and printed after it, so a call that sets errno when glibc does not (or the
 * other way round) shows up. An invariant that any allocator must keep (alignment honoured,
 * contents preserved, calloc memory zeroed) also prints a FAIL line and makes the exit status 1.
 *
 * Built with -fno-builtin: GCC would otherwise fold malloc(SIZE_MAX) to null or drop
 * malloc/free pairs, and the calls would never reach the allocator under test. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kSentinel = 4242 };

static int failures;

/* Sizes and alignments go through volatile objects so nothing is constant-folded. */
static size_t opaque(size_t v) {
  volatile size_t x = v;
  return x;
}

static const char* errno_name(int e) {
  static char buf[32];
  switch (e) {
    case kSentinel: return "unchanged";
    case 0: return "0";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    default: snprintf(buf, sizeof buf, "errno=%d", e); return buf;
  }
}

static const char* rc_name(int rc) {
  static char buf[32];
  switch (rc) {
    case 0: return "0";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    default: snprintf(buf, sizeof buf, "%d", rc); return buf;
  }
}

static void check(int ok, const char* what) {
  if (!ok) {
    printf("FAIL: %s\n", what);
    failures++;
  }
}

static int aligned_to(const void* p, size_t alignment) {
  return ((uintptr_t)p & (alignment - 1)) == 0;
}

/* Writes both ends of [p, p+size) and reads them back. */
static int ends_writable(void* p, size_t size) {
  if (size == 0) return 1;
  volatile unsigned char* b = p;
  b[size - 1] = 0xa5;
  b[0] = 0x5a;
  return b[0] == 0x5a && b[size - 1] == (size == 1 ? 0x5a : 0xa5);
}

static void fill(void* p, size_t n, unsigned seed) {
  unsigned char* b = p;
  for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(seed + i * 131u);
}

static int holds(const void* p, size_t n, unsigned seed) {
  const unsigned char* b = p;
  for (size_t i = 0; i < n; i++) {
    if (b[i] != (unsigned char)(seed + i * 131u)) return 0;
  }
  return 1;
}

static int all_zero(const void* p, size_t n) {
  const unsigned char* b = p;
  for (size_t i = 0; i < n; i++) {
    if (b[i] != 0) return 0;
  }
  return 1;
}

/* Runs CALL with errno at the sentinel and prints whether the pointer it yields is null and
 * errno afterwards. The pointer is left in `p`. */
#define PTR_CALL(label, call)                                                     \
  do {                                                                            \
    errno = kSentinel;                                                            \
    p = (call);                                                                   \
    int e_ = errno;                                                               \
    printf("%-44s null=%d errno=%s\n", label, p == NULL, errno_name(e_));       \
  } while (0)

static void test_malloc(void) {
  void* p;
  puts("== malloc");
  PTR_CALL("malloc(0)", malloc(opaque(0)));
  check(p != NULL, "malloc(0) returned null");
  errno = kSentinel;
  free(p);
  printf("%-44s errno=%s\n", "free(malloc(0))", errno_name(errno));

  PTR_CALL("malloc(SIZE_MAX)", malloc(opaque(SIZE_MAX)));
  PTR_CALL("malloc(SIZE_MAX-4096)", malloc(opaque(SIZE_MAX - 4096)));
  PTR_CALL("malloc(PTRDIFF_MAX+1)", malloc(opaque((size_t)PTRDIFF_MAX + 1)));
  PTR_CALL("malloc(PTRDIFF_MAX)", malloc(opaque(PTRDIFF_MAX)));
  PTR_CALL("malloc(1<<62)", malloc(opaque((size_t)1 << 62)));

  static const size_t sizes[] = {1,    7,    8,     15,     16,      17,       24,
                                 100,  1000, 4095,  4096,   4097,    65536,    100000,
                                 200000, 1 << 20, 5 << 20, 33 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = opaque(sizes[i]);
    char label[64];
    snprintf(label, sizeof label, "malloc(%zu)", n);
    PTR_CALL(label, malloc(n));
    if (p == NULL) {
      check(0, "malloc of a small size returned null");
      continue;
    }
    int aligned = aligned_to(p, 16);
    int usable_ok = malloc_usable_size(p) >= n;
    fill(p, n, (unsigned)n);
    int kept = holds(p, n, (unsigned)n);
    printf("  16-aligned=%d usable>=requested=%d contents-kept=%d\n", aligned, usable_ok, kept);
    check(aligned && usable_ok && kept, label);
    errno = kSentinel;
    free(p);
    printf("  free errno=%s\n", errno_name(errno));
  }

  errno = kSentinel;
  size_t usable = malloc_usable_size(NULL);
  printf("%-44s value=%zu errno=%s\n", "malloc_usable_size(NULL)", usable, errno_name(errno));
  errno = kSentinel;
  free(NULL);
  printf("%-44s errno=%s\n", "free(NULL)", errno_name(errno));

  /* free must preserve errno even when the caller's errno is a real error code. */
  p = malloc(opaque(300000)); /* above glibc's mmap threshold: free unmaps */
  errno = ENOENT;
  free(p);
  printf("%-44s errno-is-ENOENT=%d\n", "free(large) with errno=ENOENT", errno == ENOENT);
}

static void test_calloc(void) {
  void* p;
  puts("== calloc");
  PTR_CALL("calloc(0,0)", calloc(opaque(0), opaque(0)));
  free(p);
  PTR_CALL("calloc(1,0)", calloc(opaque(1), opaque(0)));
  free(p);
  PTR_CALL("calloc(0,1)", calloc(opaque(0), opaque(1)));
  free(p);
  PTR_CALL("calloc(SIZE_MAX/2,3)", calloc(opaque(SIZE_MAX / 2), opaque(3)));
  PTR_CALL("calloc(3,SIZE_MAX/2)", calloc(opaque(3), opaque(SIZE_MAX / 2)));
  PTR_CALL("calloc(1<<32,1<<32)", calloc(opaque((size_t)1 << 32), opaque((size_t)1 << 32)));
  PTR_CALL("calloc(PTRDIFF_MAX/2+1,2)", calloc(opaque(PTRDIFF_MAX / 2 + 1), opaque(2)));
  PTR_CALL("calloc(1,SIZE_MAX)", calloc(opaque(1), opaque(SIZE_MAX)));

  /* Dirty a block, free it, and calloc the same size: the reused memory must come back zeroed.
   * Sizes below and above glibc's mmap threshold. */
  static const size_t sizes[] = {1, 24, 100, 1000, 4096, 50000, 300000, 3 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = opaque(sizes[i]);
    for (int round = 0; round < 3; round++) {
      void* dirty = malloc(n);
      memset(dirty, 0xee, n);
      free(dirty);
      void* z = calloc(n / 4 + 1, 4);
      size_t bytes = (n / 4 + 1) * 4;
      int zero = z != NULL && all_zero(z, bytes);
      if (round == 0) printf("calloc(%zu,4) zeroed=%d\n", n / 4 + 1, zero);
      check(zero, "calloc returned memory that is not zeroed");
      free(z);
    }
  }
}

static void test_realloc(void) {
  void* p;
  puts("== realloc");
  PTR_CALL("realloc(NULL,0)", realloc(NULL, opaque(0)));
  check(p != NULL, "realloc(NULL,0) returned null");
  free(p);
  PTR_CALL("realloc(NULL,100)", realloc(NULL, opaque(100)));
  check(p != NULL && ends_writable(p, 100), "realloc(NULL,100) unusable");
  free(p);
  PTR_CALL("realloc(NULL,SIZE_MAX)", realloc(NULL, opaque(SIZE_MAX)));

  /* glibc 2.36: realloc(p, 0) frees p and returns null, errno untouched. */
  void* q = malloc(opaque(100));
  PTR_CALL("realloc(p,0)", realloc(q, opaque(0)));
  q = malloc(opaque(300000));
  PTR_CALL("realloc(large p,0)", realloc(q, opaque(0)));

  /* Grow and shrink across size classes and the mmap threshold; contents must survive. */
  static const size_t steps[] = {1,     16,    17,     100,  4000, 4096, 70000,
                                 300000, 2 << 20, 9 << 20, 200000, 5000, 64, 3, 1000};
  size_t have = 8;
  q = malloc(opaque(have));
  fill(q, have, 7);
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    size_t n = opaque(steps[i]);
    char label[64];
    snprintf(label, sizeof label, "realloc(p[%zu],%zu)", have, n);
    PTR_CALL(label, realloc(q, n));
    if (p == NULL) {
      check(0, "realloc to a small size failed");
      return;
    }
    size_t kept = have < n ? have : n;
    int ok = holds(p, kept, 7) && aligned_to(p, 16) && malloc_usable_size(p) >= n;
    printf("  prefix-kept,16-aligned,usable>=requested=%d\n", ok);
    check(ok, label);
    q = p;
    fill(q, n, 7);
    have = n;
  }

  /* A failed realloc leaves the block untouched and sets ENOMEM. */
  static const size_t huge[] = {SIZE_MAX, SIZE_MAX - 4096, (size_t)PTRDIFF_MAX + 1,
                                PTRDIFF_MAX, (size_t)1 << 62};
  static const char* const huge_names[] = {"SIZE_MAX", "SIZE_MAX-4096", "PTRDIFF_MAX+1",
                                           "PTRDIFF_MAX", "1<<62"};
  for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
    char label[64];
    snprintf(label, sizeof label, "realloc(p[%zu],%s)", have, huge_names[i]);
    PTR_CALL(label, realloc(q, opaque(huge[i])));
    int intact = holds(q, have, 7);
    printf("  block-intact=%d\n", intact);
    check(p == NULL && intact, label);
  }
  free(q);

  /* Same for a block above the mmap threshold (glibc takes the mremap path). */
  have = 400000;
  q = malloc(opaque(have));
  fill(q, have, 9);
  PTR_CALL("realloc(p[400000],PTRDIFF_MAX+1)", realloc(q, opaque((size_t)PTRDIFF_MAX + 1)));
  PTR_CALL("realloc(p[400000],1<<62)", realloc(q, opaque((size_t)1 << 62)));
  printf("  block-intact=%d\n", holds(q, have, 9));
  PTR_CALL("realloc(p[400000],64)", realloc(q, opaque(64)));
  printf("  prefix-kept=%d\n", p != NULL && holds(p, 64, 9));
  free(p);

  puts("== reallocarray");
  PTR_CALL("reallocarray(NULL,10,10)", reallocarray(NULL, opaque(10), opaque(10)));
  check(p != NULL && ends_writable(p, 100), "reallocarray(NULL,10,10) unusable");
  q = p;
  fill(q, 100, 3);
  PTR_CALL("reallocarray(p,SIZE_MAX/2,3)", reallocarray(q, opaque(SIZE_MAX / 2), opaque(3)));
  printf("  block-intact=%d\n", holds(q, 100, 3));
  PTR_CALL("reallocarray(p,1<<32,1<<32)",
           reallocarray(q, opaque((size_t)1 << 32), opaque((size_t)1 << 32)));
  printf("  block-intact=%d\n", holds(q, 100, 3));
  PTR_CALL("reallocarray(p,PTRDIFF_MAX/2+1,2)",
           reallocarray(q, opaque(PTRDIFF_MAX / 2 + 1), opaque(2)));
  printf("  block-intact=%d\n", holds(q, 100, 3));
  PTR_CALL("reallocarray(p,50,20)", reallocarray(q, opaque(50), opaque(20)));
  printf("  prefix-kept=%d\n", p != NULL && holds(p, 100, 3));
  q = p;
  PTR_CALL("reallocarray(p,0,10)", reallocarray(q, opaque(0), opaque(10)));
  PTR_CALL("reallocarray(NULL,SIZE_MAX,SIZE_MAX)",
           reallocarray(NULL, opaque(SIZE_MAX), opaque(SIZE_MAX)));
}

struct alignment_case {
  const char* name;
  size_t value;
};

/* Alignments that are not powers of two, too small, or too large to round up. */
static const struct alignment_case odd_alignments[] = {
    {"0", 0},
    {"1", 1},
    {"2", 2},
    {"3", 3},
    {"4", 4},
    {"8", 8},
    {"12", 12},
    {"16", 16},
    {"17", 17},
    {"24", 24},
    {"33", 33},
    {"48", 48},
    {"100", 100},
    {"4095", 4095},
    {"1<<62", (size_t)1 << 62},
    {"SIZE_MAX/2", SIZE_MAX / 2},
    {"1<<63", (size_t)1 << 63},
    {"(1<<63)+8", ((size_t)1 << 63) + 8},
    {"(1<<63)+16", ((size_t)1 << 63) + 16},
    {"SIZE_MAX-7", SIZE_MAX - 7},
    {"SIZE_MAX", SIZE_MAX},
};

/* The alignment an allocator must honour when it accepts `alignment`: glibc's memalign rounds
 * a non-power of two up to the next power of two. */
static size_t effective_alignment(size_t alignment) {
  size_t a = 1;
  while (a < alignment && a != 0) a <<= 1;
  return a == 0 ? 1 : a;
}

static void test_posix_memalign(void) {
  puts("== posix_memalign");
  static const size_t sizes[] = {0, 1, 100};
  for (size_t i = 0; i < sizeof odd_alignments / sizeof odd_alignments[0]; i++) {
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      void* out = (void*)&failures; /* must be left alone on failure */
      size_t alignment = opaque(odd_alignments[i].value);
      errno = kSentinel;
      int rc = posix_memalign(&out, alignment, opaque(sizes[s]));
      int e = errno;
      int out_untouched = out == (void*)&failures;
      printf("posix_memalign(%s,%zu) rc=%s errno=%s out-untouched=%d", odd_alignments[i].name,
             sizes[s], rc_name(rc), errno_name(e), out_untouched);
      int ok = rc == 0 ? out != NULL && aligned_to(out, alignment) && ends_writable(out, sizes[s])
                       : out_untouched;
      if (rc == 0) {
        printf(" aligned-writable=%d", ok);
        free(out);
      }
      putchar('\n');
      check(ok, rc == 0 ? "posix_memalign result misaligned or unusable"
                        : "failed posix_memalign wrote its output");
    }
  }
  /* Valid alignments with sizes that cannot be served. */
  static const struct alignment_case valid[] = {{"8", 8}, {"64", 64}, {"4096", 4096}};
  static const struct alignment_case bad_sizes[] = {
      {"SIZE_MAX", SIZE_MAX}, {"PTRDIFF_MAX+1", (size_t)PTRDIFF_MAX + 1},
      {"SIZE_MAX-4096", SIZE_MAX - 4096}, {"1<<62", (size_t)1 << 62}};
  for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
    for (size_t s = 0; s < sizeof bad_sizes / sizeof bad_sizes[0]; s++) {
      void* out = (void*)&failures;
      errno = kSentinel;
      int rc = posix_memalign(&out, opaque(valid[i].value), opaque(bad_sizes[s].value));
      int e = errno;
      printf("posix_memalign(%s,%s) rc=%s errno=%s out-untouched=%d\n", valid[i].name,
             bad_sizes[s].name, rc_name(rc), errno_name(e), out == (void*)&failures);
      if (rc == 0) free(out);
    }
  }
}

typedef void* (*aligned_fn)(size_t, size_t);

static void test_memalign_family(const char* name, aligned_fn fn) {
  void* p;
  printf("== %s\n", name);
  static const size_t sizes[] = {0, 1, 100};
  for (size_t i = 0; i < sizeof odd_alignments / sizeof odd_alignments[0]; i++) {
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      char label[96];
      snprintf(label, sizeof label, "%s(%s,%zu)", name, odd_alignments[i].name, sizes[s]);
      size_t alignment = opaque(odd_alignments[i].value);
      PTR_CALL(label, fn(alignment, opaque(sizes[s])));
      if (p != NULL) {
        int ok = aligned_to(p, effective_alignment(alignment)) && aligned_to(p, 16) &&
                 ends_writable(p, sizes[s]);
        printf("  aligned-writable=%d\n", ok);
        check(ok, "memalign-family result misaligned or unusable");
        free(p);
      }
    }
  }
  static const struct alignment_case bad_sizes[] = {
      {"SIZE_MAX", SIZE_MAX}, {"PTRDIFF_MAX+1", (size_t)PTRDIFF_MAX + 1},
      {"SIZE_MAX-4096", SIZE_MAX - 4096}, {"1<<62", (size_t)1 << 62}};
  for (size_t s = 0; s < sizeof bad_sizes / sizeof bad_sizes[0]; s++) {
    char label[96];
    snprintf(label, sizeof label, "%s(64,%s)", name, bad_sizes[s].name);
    PTR_CALL(label, fn(opaque(64), opaque(bad_sizes[s].value)));
    snprintf(label, sizeof label, "%s(8,%s)", name, bad_sizes[s].name);
    PTR_CALL(label, fn(opaque(8), opaque(bad_sizes[s].value)));
  }
}

static void* call_memalign(size_t a, size_t n) { return memalign(a, n); }
static void* call_aligned_alloc(size_t a, size_t n) { return aligned_alloc(a, n); }

static void test_page_allocators(void) {
  void* p;
  long page = sysconf(_SC_PAGESIZE);
  puts("== valloc / pvalloc");
  static const size_t sizes[] = {0, 1, 100, 4095, 4096, 4097, 10000, 300000};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t n = opaque(sizes[s]);
    char label[64];
    snprintf(label, sizeof label, "valloc(%zu)", n);
    PTR_CALL(label, valloc(n));
    int ok = p != NULL && aligned_to(p, (size_t)page) && ends_writable(p, n) &&
             malloc_usable_size(p) >= n;
    printf("  page-aligned-writable=%d\n", ok);
    check(ok, label);
    free(p);
    snprintf(label, sizeof label, "pvalloc(%zu)", n);
    PTR_CALL(label, pvalloc(n));
    ok = p != NULL && aligned_to(p, (size_t)page) && ends_writable(p, n) &&
         malloc_usable_size(p) >= n;
    printf("  page-aligned-writable=%d\n", ok);
    check(ok, label);
    free(p);
  }
  static const struct alignment_case bad_sizes[] = {
      {"SIZE_MAX", SIZE_MAX}, {"SIZE_MAX-4095", SIZE_MAX - 4095},
      {"SIZE_MAX-4096", SIZE_MAX - 4096}, {"PTRDIFF_MAX+1", (size_t)PTRDIFF_MAX + 1},
      {"PTRDIFF_MAX", PTRDIFF_MAX}, {"1<<62", (size_t)1 << 62}};
  for (size_t s = 0; s < sizeof bad_sizes / sizeof bad_sizes[0]; s++) {
    char label[64];
    snprintf(label, sizeof label, "valloc(%s)", bad_sizes[s].name);
    PTR_CALL(label, valloc(opaque(bad_sizes[s].value)));
    snprintf(label, sizeof label, "pvalloc(%s)", bad_sizes[s].name);
    PTR_CALL(label, pvalloc(opaque(bad_sizes[s].value)));
  }
}

/* Every power-of-two alignment from 1 byte to 1 GiB through each aligned entry point. */
static void test_power_of_two_alignments(void) {
  puts("== every power-of-two alignment");
  for (int shift = 0; shift <= 30; shift++) {
    size_t alignment = opaque((size_t)1 << shift);
    size_t third = alignment + alignment / 2 + 1;
    size_t sizes[] = {1, 100, third < ((size_t)1 << 20) ? third : ((size_t)1 << 20) + 1};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      size_t n = opaque(sizes[s]);
      void* out = NULL;
      errno = kSentinel;
      int rc = posix_memalign(&out, alignment, n);
      int e1 = errno;
      int ok1 = rc == 0 && out != NULL && aligned_to(out, alignment) && ends_writable(out, n);
      if (rc == 0) free(out);

      errno = kSentinel;
      void* a = aligned_alloc(alignment, n);
      int e2 = errno;
      int ok2 = a != NULL && aligned_to(a, alignment) && ends_writable(a, n);
      free(a);

      errno = kSentinel;
      void* m = memalign(alignment, n);
      int e3 = errno;
      int ok3 = m != NULL && aligned_to(m, alignment) && ends_writable(m, n);
      free(m);

      printf("align 1<<%-2d size %-8zu posix_memalign rc=%s ok=%d errno=%s | aligned_alloc ok=%d "
             "errno=%s | memalign ok=%d errno=%s\n",
             shift, n, rc_name(rc), ok1, errno_name(e1), ok2, errno_name(e2), ok3,
             errno_name(e3));
      /* posix_memalign rejects alignments below sizeof(void*); the others must succeed. */
      if (alignment >= sizeof(void*)) check(ok1, "posix_memalign power-of-two alignment");
      check(ok2 && ok3, "aligned_alloc/memalign power-of-two alignment");
    }
  }
}

/* The introspection surface: sane answers, no crash. Only booleans are printed. */
static void test_introspection(void) {
  puts("== introspection");
  size_t big = opaque(1 << 20);
  void* live = malloc(big);
  memset(live, 1, big);
  void* small[64];
  for (int i = 0; i < 64; i++) {
    small[i] = malloc(opaque(64));
    memset(small[i], 2, 64);
  }
  errno = kSentinel;
  struct mallinfo2 mi = mallinfo2();
  int e = errno;
  printf("mallinfo2 counts the live MiB (uordblks+hblkhd >= 1 MiB)=%d errno=%s\n",
         mi.uordblks + mi.hblkhd >= big, errno_name(e));
  printf("mallinfo2 in-use <= total (uordblks <= arena)=%d\n", mi.uordblks <= mi.arena);
  for (int i = 0; i < 64; i++) free(small[i]);
  free(live);

  errno = kSentinel;
  int rc = malloc_trim(0);
  e = errno;
  printf("malloc_trim(0) returns 0 or 1=%d errno=%s\n", rc == 0 || rc == 1, errno_name(e));
  rc = malloc_trim(opaque(1 << 20));
  printf("malloc_trim(1 MiB) returns 0 or 1=%d\n", rc == 0 || rc == 1);

  /* mallopt returns 1 on success and 0 on error; an engine may refuse glibc's parameters. */
  errno = kSentinel;
  rc = mallopt(M_ARENA_MAX, 8);
  e = errno;
  printf("mallopt(M_ARENA_MAX,8) returns 0 or 1=%d errno=%s\n", rc == 0 || rc == 1,
         errno_name(e));
  rc = mallopt(M_TRIM_THRESHOLD, 1 << 20);
  printf("mallopt(M_TRIM_THRESHOLD) returns 0 or 1=%d\n", rc == 0 || rc == 1);
  rc = mallopt(-12345, 1);
  printf("mallopt(unknown) returns 0 or 1=%d\n", rc == 0 || rc == 1);

  /* malloc_stats and malloc_info report numbers that differ between allocators: capture them
   * away from stdout and stderr and report only that they produced output. */
  fflush(stdout);
  fflush(stderr);
  char path[] = "/tmp/poolscope-api-stats.XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) {
    check(0, "mkstemp");
    return;
  }
  unlink(path);
  int saved_stderr = dup(2);
  dup2(fd, 2);
  errno = kSentinel;
  malloc_stats();
  e = errno;
  fflush(stderr);
  dup2(saved_stderr, 2);
  close(saved_stderr);
  off_t written = lseek(fd, 0, SEEK_END);
  printf("malloc_stats wrote a report to stderr=%d errno=%s\n", written > 0, errno_name(e));

  FILE* info = tmpfile();
  errno = kSentinel;
  rc = malloc_info(0, info);
  e = errno;
  fflush(info);
  rewind(info);
  char head[16] = {0};
  size_t got = fread(head, 1, sizeof head - 1, info);
  fclose(info);
  printf("malloc_info returns 0=%d writes <malloc XML=%d errno=%s\n", rc == 0,
         got >= 7 && strncmp(head, "<malloc", 7) == 0, errno_name(e));
  errno = kSentinel;
  rc = malloc_info(1, NULL);
  e = errno;
  printf("malloc_info(options=1) rc=%d errno=%s\n", rc, errno_name(e));
  close(fd);
}

/* From here on munmap fails with EPERM in this process (and only munmap). */
static int refuse_munmap(void) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_munmap, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = {sizeof filter / sizeof filter[0], filter};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

/* A free whose system call fails inside the allocator (glibc unmaps a block above its mmap
 * threshold) must still leave errno as it was. In a child, so the refused munmap stays there. */
static void test_free_when_munmap_fails(void) {
  puts("== free while munmap fails");
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    void* p = malloc(opaque(300000));
    void* page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int refused = refuse_munmap() && munmap(page, 4096) != 0 && errno == EPERM;
    printf("munmap refused=%d\n", refused);
    errno = ENOENT;
    free(p);
    printf("%-44s errno-is-ENOENT=%d\n", "free(large) with munmap failing", errno == ENOENT);
    fflush(stdout);
    _exit(refused && errno == ENOENT ? 0 : 1);
  }
  int status = 0;
  check(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0,
        "free changed errno while munmap failed");
}

int main(void) {
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);
  test_malloc();
  test_calloc();
  test_realloc();
  test_posix_memalign();
  test_memalign_family("aligned_alloc", call_aligned_alloc);
  test_memalign_family("memalign", call_memalign);
  test_page_allocators();
  test_power_of_two_alignments();
  test_introspection();
  test_free_when_munmap_fails();
  printf("failures=%d\n", failures);
  return failures == 0 ? 0 : 1;
}
