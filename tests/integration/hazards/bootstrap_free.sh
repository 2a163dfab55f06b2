#!/bin/bash
# Guards: a bootstrap block freed once the engine is running is ignored, whatever path free
# takes (src/interpose/allocation.h: CountedTracedRelease sends bootstrap blocks to the generic
# path before any direct route to the engine, e.g. glibc's free under the libc engine).
# bootstrap_free_dso.so interposes dlsym, so the library's own initialisation allocates a block
# that only the bootstrap arena can serve; bootstrap_free_main frees it and allocates on. Run
# untraced, sampled, fully recorded and counted: each sends free a different way.
source "$(dirname "$0")/../harness.sh"

dso=$1
prog=$2
lib=$POOLSCOPE_TEST_LIB
engine=$POOLSCOPE_TEST_ENGINE

expected='block from init is a bootstrap block=1
contents kept=1
library memory handed out again=0'
for mode in "" POOLSCOPE_TRACE=sampled POOLSCOPE_TRACE=full POOLSCOPE_STATS=1; do
  # The DSO after the library: its forwarded RTLD_NEXT lookups then find glibc's functions.
  run_captured "$WORK/run" timeout -k 5 30 env LD_PRELOAD="$lib:$dso" POOLSCOPE_ENGINE="$engine" \
    POOLSCOPE_OUTPUT="$WORK/%p.trace" $mode "$prog"
  status=$(cat "$WORK/run/status")
  [[ $status == 0 && $(cat "$WORK/run/stdout") == "$expected" ]] ||
    fail "engine $engine ${mode:-untraced}: status $status, output:
$(cat "$WORK/run/stdout")
$(head -5 "$WORK/run/stderr")"
  echo "ok: engine $engine ${mode:-untraced}"
done
