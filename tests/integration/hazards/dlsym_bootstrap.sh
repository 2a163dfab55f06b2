#!/bin/bash
# Guards: dlsym/dlerror allocating while the library bootstraps (src/interpose/runtime.cc,
# src/engine/libc/libc_engine.cc: the engine resolves glibc with dlsym, which may call malloc,
# served by the bootstrap arena). dlsym_bootstrap_dso.so's constructor, run before the
# library's, provokes loader errors whose message and per-thread state glibc mallocs, reads and
# frees them through dlerror(), strdups, and leaves an error pending for main. Under the
# library (listed in either order) the run must neither hang nor crash, and print exactly what
# the plain run prints.
source "$(dirname "$0")/../harness.sh"

dso=$1
prog=$2
lib=$POOLSCOPE_TEST_LIB
engine=$POOLSCOPE_TEST_ENGINE

# run NAME LD_PRELOAD-VALUE; a hang becomes status 124 (timeout).
run() {
  run_captured "$WORK/$1" timeout -k 5 30 env LD_PRELOAD="$2" POOLSCOPE_ENGINE="$engine" "$prog"
}

run plain "$dso"
[[ $(cat "$WORK/plain/status") == 0 ]] || fail "plain run failed: $(cat "$WORK/plain/stderr")"
expected=$'main: pending error from the constructor mentions it=1
ctor: dlsym(missing) null=1 dlerror-mentions-symbol=1
ctor: dlerror() again null=1
ctor: dlopen(missing) null=1 dlerror-mentions-file=1
ctor: dlsym(RTLD_NEXT, malloc) found=1
ctor: dlvsym(missing) null=1 dlerror-set=1
main: 1000 failed dlsym calls reported by dlerror=1000'
[[ $(cat "$WORK/plain/stdout") == "$expected" ]] ||
  fail "unexpected plain output: $(cat "$WORK/plain/stdout")"

for order in "$lib:$dso" "$dso:$lib"; do
  run preloaded "$order"
  for what in status stdout stderr; do
    if ! cmp -s "$WORK/plain/$what" "$WORK/preloaded/$what"; then
      diff "$WORK/plain/$what" "$WORK/preloaded/$what" >&2 || true
      fail "LD_PRELOAD=$order, engine $engine: $what differs from the plain run" \
        "(status $(cat "$WORK/preloaded/status"); 124 means it hung)"
    fi
  done
  echo "ok: LD_PRELOAD=$order identical to the plain run under engine $engine"
done
