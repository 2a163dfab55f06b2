#!/bin/bash
# Guards: the interposed C allocation surface keeps glibc 2.36's exact semantics on every engine
# (src/interpose/malloc_api.cc, allocation.h): malloc(0), SIZE_MAX/PTRDIFF_MAX+1 and calloc or
# reallocarray overflow giving ENOMEM, realloc(NULL,n) and realloc(p,0), failed realloc leaving
# the block intact, posix_memalign's return codes, memalign/aligned_alloc rounding and EINVAL,
# valloc/pvalloc, every power-of-two alignment up to 1 GiB, malloc_usable_size, errno after
# each call (free never changes it) and the mallinfo2/malloc_trim/mallopt/malloc_stats/
# malloc_info surface. api_edges prints only allocator-independent facts, so its output under
# the library must be byte-identical to the plain run.
source "$(dirname "$0")/../harness.sh"

prog=$1

# meson sets MALLOC_PERTURB_, which makes glibc memset every byte it maps for a 1 GiB-aligned
# block (seconds of work and a GiB of RSS per call); neither run needs it.
unset MALLOC_PERTURB_

compare_runs api_edges "$prog"

status=$(cat "$WORK/api_edges.plain/status")
[[ $status == 0 ]] || fail "api_edges fails under plain glibc too (status $status):
$(grep FAIL "$WORK/api_edges.plain/stdout" | head)"
# The program really exercised the surface (guards against an empty or truncated run).
grep -q '^== every power-of-two alignment' "$WORK/api_edges.plain/stdout" ||
  fail "api_edges did not reach the alignment sweep"
grep -q '^align 1<<30 ' "$WORK/api_edges.plain/stdout" || fail "no 1 GiB alignment line"
grep -q '^failures=0$' "$WORK/api_edges.plain/stdout" || fail "api_edges reported failures"
