#!/bin/bash
# Guards: C++ exceptions under the library (src/interpose/cxx_api.cc's throwing and nothrow
# new; DESIGN.md: an unwinder linked into the preloaded library must never take over the
# program's _Unwind_*). A C program dlopens a C++ library that throws and catches internally
# (exception objects and their strings come from malloc), from four threads at once, and
# through a C callback frame (-fexceptions, with a cleanup attribute) back to a C++ catch.
source "$(dirname "$0")/../harness.sh"

prog=$1
dso=$2

compare_runs exceptions timeout -k 5 40 "$prog" "$dso"
expected="caught inside the library: 1000/1000
nothrow new of SIZE_MAX/2 returns null: 1
caught in 4 threads: 2000/2000
through the C frame: Failure caught 100, out_of_range caught 100, returned 100, wrong 0
C frames: cleanups run 300, returned normally 100"
[[ $(cat "$WORK/exceptions.plain/stdout") == "$expected" ]] ||
  fail "plain run: $(cat "$WORK/exceptions.plain/stdout") (status $(cat "$WORK/exceptions.plain/status"))"
