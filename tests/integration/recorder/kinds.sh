#!/bin/bash
# Each allocation is recorded with the kind of call that made it (kinds.cc: 300 malloc,
# 200 new, 100 new[], 50 calloc, 40 aligned), in full recording and in sampled recording with
# every allocation sampled (POOLSCOPE_SAMPLE_BYTES=1), where the libc engine serves malloc and
# operator new through its direct routes. Usage: kinds.sh PROGRAM MODE (full | sampled)
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
prog=$1
mode=$2

run_captured "$WORK/plain" "$prog"
[[ $(cat "$WORK/plain/status") == 0 ]] || fail "the plain run failed"
POOLSCOPE_TRACE=$mode POOLSCOPE_SAMPLE_BYTES=1 POOLSCOPE_OUTPUT=$WORK/kinds.trace \
  run_captured "$WORK/run" preloaded "$prog"
[[ $(cat "$WORK/run/status") == 0 ]] || fail "exit status $(cat "$WORK/run/status"): $(cat "$WORK/run/stderr")"
cmp -s "$WORK/plain/stdout" "$WORK/run/stdout" || fail "the output differs from the plain run"
probe_facts "$WORK/kinds.trace" "$WORK/facts"
kinds=$(fact "$WORK/facts" kinds)
echo "kinds: $kinds"
count() { sed -n "s/.*\(^\|,\)$1:\([0-9]*\).*/\2/p" <<<"$kinds"; }
# The runtime allocates a few blocks of its own with malloc and calloc (stdio, the loader).
(($(count new) == 200)) || fail "$(count new) operator new allocations recorded, expected 200"
(($(count 'new\[\]') == 100)) || fail "$(count 'new\[\]') operator new[] allocations recorded, expected 100"
(($(count aligned) == 40)) || fail "$(count aligned) aligned allocations recorded, expected 40"
(($(count malloc) >= 300 && $(count malloc) <= 320)) || fail "$(count malloc) malloc allocations recorded, expected 300 and a few of the runtime's"
(($(count calloc) >= 50 && $(count calloc) <= 60)) || fail "$(count calloc) calloc allocations recorded, expected 50 and a few of the runtime's"
echo "ok: $mode: every allocation recorded with its kind"
