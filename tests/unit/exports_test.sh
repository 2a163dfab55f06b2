#!/usr/bin/env bash
# The library must export exactly the interposed surface below and nothing else: a missing name
# lets calls reach glibc's allocator with our pointers; an extra one (a libstdc++ inline, an
# _Unwind_* from a linked unwinder) can silently take over the program's own symbols.
set -euo pipefail
lib=${1:?usage: exports_test.sh LIBRARY}

expected=(
  # C allocation surface (glibc 2.36) and C23 additions
  malloc free cfree calloc realloc reallocarray
  posix_memalign aligned_alloc memalign valloc pvalloc
  malloc_usable_size free_sized free_aligned_sized
  mallinfo mallinfo2 malloc_trim mallopt malloc_stats malloc_info
  # glibc's internal names, which some code calls directly
  __libc_malloc __libc_free __libc_calloc __libc_realloc __libc_memalign __libc_valloc
  __libc_pvalloc
  # loader wrappers (RTLD_DEEPBIND stripping)
  dlopen dlmopen
  # the program's own mappings, recorded
  mmap mmap64 munmap mremap
  # process lifetime, for the recorder
  __libc_start_main exit _exit _Exit
  execve execv execvp execvpe fexecve execl execlp execle
  # public C API (include/poolscope/poolscope.h)
  poolscope_get_stats poolscope_mark poolscope_flush
)
# Every replaceable operator new and delete, by signature.
cxx_expected=(
  'operator new(unsigned long)'
  'operator new[](unsigned long)'
  'operator new(unsigned long, std::nothrow_t const&)'
  'operator new[](unsigned long, std::nothrow_t const&)'
  'operator new(unsigned long, std::align_val_t)'
  'operator new[](unsigned long, std::align_val_t)'
  'operator new(unsigned long, std::align_val_t, std::nothrow_t const&)'
  'operator new[](unsigned long, std::align_val_t, std::nothrow_t const&)'
  'operator delete(void*)'
  'operator delete[](void*)'
  'operator delete(void*, unsigned long)'
  'operator delete[](void*, unsigned long)'
  'operator delete(void*, std::align_val_t)'
  'operator delete[](void*, std::align_val_t)'
  'operator delete(void*, unsigned long, std::align_val_t)'
  'operator delete[](void*, unsigned long, std::align_val_t)'
  'operator delete(void*, std::nothrow_t const&)'
  'operator delete[](void*, std::nothrow_t const&)'
  'operator delete(void*, std::align_val_t, std::nothrow_t const&)'
  'operator delete[](void*, std::align_val_t, std::nothrow_t const&)'
)

actual=$(nm -D --defined-only "$lib" | awk '{print $3}' | c++filt | sort)
want=$({ printf '%s\n' "${expected[@]}"; printf '%s\n' "${cxx_expected[@]}"; } | sort)

if [[ "$actual" != "$want" ]]; then
  echo "exported symbols differ from the interposed table (< missing, > unexpected):"
  diff <(echo "$want") <(echo "$actual") || true
  exit 1
fi
# Interposition only works through the dynamic symbol table: every name must be a function.
if nm -D --defined-only "$lib" | awk '$2 != "T" && $2 != "W" && $2 != "i"' | grep .; then
  echo "the lines above are exported but are not functions"
  exit 1
fi
echo "ok: $(echo "$actual" | wc -l) exported symbols, exactly the interposed table"
