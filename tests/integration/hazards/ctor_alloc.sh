#!/bin/bash
# Guards: allocation before the library's constructors run (src/interpose/runtime.cc lazy
# initialisation, the bootstrap arena). ctor_alloc_dso.so is preloaded alongside the library;
# its constructor mallocs, callocs, reallocs, posix_memaligns and strdups, and keeps blocks that
# ctor_alloc_main later checks, reallocs and frees. With LD_PRELOAD="lib:dso" the loader runs
# the DSO's constructor before the library's (checked here with LD_DEBUG=files, so the test
# knows it really exercises the hazard); "dso:lib" is run too. Output must match the plain run,
# and POOLSCOPE_STATS=1 must print exactly one stats line showing the engine served the calls.
source "$(dirname "$0")/../harness.sh"

dso=$1
prog=$2
lib=$POOLSCOPE_TEST_LIB
engine=$POOLSCOPE_TEST_ENGINE

# run NAME LD_PRELOAD-VALUE
run() {
  run_captured "$WORK/$1" timeout -k 5 30 \
    env LD_PRELOAD="$2" POOLSCOPE_ENGINE="$engine" POOLSCOPE_STATS=1 "$prog"
}

# The hazardous order really puts the DSO's constructor first.
LD_DEBUG=files LD_PRELOAD="$lib:$dso" POOLSCOPE_ENGINE="$engine" "$prog" 2>"$WORK/ld_debug" \
  >/dev/null || fail "ctor_alloc_main failed under LD_DEBUG"
order=$(sed -n 's/.*calling init: //p' "$WORK/ld_debug" | grep -nE 'ctor_alloc_dso|libpoolscope' |
  cut -d: -f2 | xargs -n1 basename | tr '\n' ' ')
[[ $order == "libctor_alloc_dso.so libpoolscope.so " ]] ||
  fail "expected the DSO's constructor to run before the library's, init order: $order"

run plain "$dso"
[[ $(cat "$WORK/plain/status") == 0 ]] || fail "plain run failed: $(cat "$WORK/plain/stdout")"
grep -q '^constructor errors: 0$' "$WORK/plain/stdout" || fail "constructor errors in plain run"
grep -q '^done$' "$WORK/plain/stdout" || fail "plain run did not finish"

for order in "$lib:$dso" "$dso:$lib"; do
  run preloaded "$order"
  what="LD_PRELOAD=$order, engine $engine"
  cmp -s "$WORK/plain/status" "$WORK/preloaded/status" ||
    fail "$what: exit status $(cat "$WORK/preloaded/status"), stderr: $(cat "$WORK/preloaded/stderr")"
  if ! cmp -s "$WORK/plain/stdout" "$WORK/preloaded/stdout"; then
    diff "$WORK/plain/stdout" "$WORK/preloaded/stdout" >&2 || true
    fail "$what: stdout differs from the plain run"
  fi
  # Exactly one line on stderr: the stats line, counting calls the engine served.
  [[ $(wc -l <"$WORK/preloaded/stderr") == 1 ]] ||
    fail "$what: unexpected stderr: $(cat "$WORK/preloaded/stderr")"
  line=$(cat "$WORK/preloaded/stderr")
  re="^poolscope: stats pid [0-9]+ engine $engine: malloc ([0-9]+) calloc ([0-9]+) realloc ([0-9]+) aligned ([0-9]+) free ([0-9]+) "
  [[ $line =~ $re ]] || fail "$what: no stats line for engine $engine: $line"
  # The constructor alone makes 200+ mallocs/frees, 200 callocs, 200+ reallocs.
  ((BASH_REMATCH[1] >= 1000 && BASH_REMATCH[2] >= 200 && BASH_REMATCH[3] >= 200 &&
    BASH_REMATCH[4] >= 1 && BASH_REMATCH[5] >= 1000)) || fail "$what: too few calls counted: $line"
  echo "ok: $what: $line"
done
