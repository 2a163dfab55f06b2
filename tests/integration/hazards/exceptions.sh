#!/bin/bash
# Guards: C++ exceptions under the library (src/interpose/cxx_api.cc's throwing and nothrow
# new, which reach libstdc++ only when an allocation fails; DESIGN.md: an unwinder linked into
# the preloaded library must never take over the program's _Unwind_*). A C program dlopens a
# C++ library that throws and catches internally (exception objects and their strings come
# from malloc), from four threads at once, and through a C callback frame (-fexceptions, with a
# cleanup attribute) back to a C++ catch; and runs the new-handler loop of every form of new
# with a handler that gives up and one that throws. Expected output: exceptions.expected.
source "$(dirname "$0")/../harness.sh"

prog=$1
dso=$2

compare_runs exceptions timeout -k 5 40 "$prog" "$dso"
expected=$(cat "$(dirname "$0")/exceptions.expected")
[[ $(cat "$WORK/exceptions.plain/stdout") == "$expected" ]] ||
  fail "plain run: $(cat "$WORK/exceptions.plain/stdout") (status $(cat "$WORK/exceptions.plain/status"))"
