/* Opened by deepbind_main with RTLD_DEEPBIND, which would make this library bind malloc and
 * free to glibc's definitions ahead of the preloaded library's. It allocates memory the program
 * frees, frees memory the program allocated, and reports the malloc it was bound to. */
#include <stdlib.h>
#include <string.h>

void* deepbind_malloc(size_t n) { return malloc(n); }
void* deepbind_calloc(size_t n, size_t size) { return calloc(n, size); }
void* deepbind_realloc(void* p, size_t n) { return realloc(p, n); }
void deepbind_free(void* p) { free(p); }
char* deepbind_strdup(const char* s) { return strdup(s); }

/* The addresses this library's references resolved to (through its GOT). */
void* deepbind_malloc_address(void) { return (void*)&malloc; }
void* deepbind_free_address(void) { return (void*)&free; }
void* deepbind_realloc_address(void) { return (void*)&realloc; }
void* deepbind_calloc_address(void) { return (void*)&calloc; }
