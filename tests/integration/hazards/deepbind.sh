#!/bin/bash
# Guards: the dlopen/dlmopen wrappers (src/interpose/dlopen.cc). A library opened with
# RTLD_DEEPBIND must still bind malloc/free/realloc/calloc to the preloaded library (the wrapper
# strips the flag), so memory crosses between it and the program in both directions; and a
# library with DT_RUNPATH $ORIGIN must still find its sibling plugin by bare name through the
# wrapper, i.e. glibc must see the real caller (the wrapper jumps, it does not call).
source "$(dirname "$0")/../harness.sh"

prog=$1
dso=$2
dso_copy=$3
loader=$4
# meson test points LD_LIBRARY_PATH at the build directories of the libraries a test depends
# on, which would let anyone find the plugin by bare name: only the loader's RUNPATH may.
unset LD_LIBRARY_PATH

# The loader must carry DT_RUNPATH (not DT_RPATH) with $ORIGIN, or the test proves nothing.
readelf -d "$loader" | grep -q 'RUNPATH.*\$ORIGIN' || fail "$loader has no DT_RUNPATH \$ORIGIN"

compare_runs deepbind timeout -k 5 60 "$prog" "$dso" "$dso_copy" "$loader"
expected=$'dlopen: the DSO\'s malloc is the program\'s: 1
dlopen: the DSO\'s free is the program\'s: 1
dlopen: the DSO\'s realloc is the program\'s: 1
dlopen: the DSO\'s calloc is the program\'s: 1
dlopen: blocks passed between the DSO and the program intact: 2000/2000
dlmopen: the DSO\'s malloc is the program\'s: 1
dlmopen: the DSO\'s free is the program\'s: 1
dlmopen: the DSO\'s realloc is the program\'s: 1
dlmopen: the DSO\'s calloc is the program\'s: 1
dlmopen: blocks passed between the DSO and the program intact: 2000/2000
plugin found by bare name from the program: 0
loader\'s dlopen(bare name) via its RUNPATH: 42
loader\'s dlopen(bare name, RTLD_DEEPBIND) via its RUNPATH: 42
loader\'s dlmopen(LM_ID_BASE, bare name) via its RUNPATH: 42'
[[ $(cat "$WORK/deepbind.plain/stdout") == "$expected" ]] ||
  fail "unexpected output: $(cat "$WORK/deepbind.plain/stdout")"

# Plain, DEEPBIND binds the DSO to glibc; under the library it must be bound to the library.
plain_where=$(timeout -k 5 30 "$prog" "$dso" "$dso_copy" "$loader" where)
preloaded_where=$(preloaded timeout -k 5 30 "$prog" "$dso" "$dso_copy" "$loader" where)
[[ $plain_where == libc.so.6 ]] || fail "plain: the DEEPBIND DSO's malloc is in $plain_where"
[[ $preloaded_where == libpoolscope.so ]] ||
  fail "preloaded: the DEEPBIND DSO's malloc is in $preloaded_where, not libpoolscope.so"
echo "ok: the DEEPBIND DSO's malloc is in $plain_where plain, $preloaded_where preloaded"
