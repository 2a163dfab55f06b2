#!/bin/bash
# The README's bundled example, as scripts/demo.sh runs it: `poolscope run` on the demo program,
# then what its report must say. The 8 KiB the demo leaks on purpose is the largest leak, at
# its line (the demo is built with debug information); libstdc++'s emergency pool is not a
# leak; a frame without debug information (_start) borrows no other file's line; and the CI
# gate the demo shows fails on that leak. Usage: demo_test.sh DEMO
source "$(dirname "$0")/../../integration/harness.sh"
: "${POOLSCOPE_TEST_CLI:?}"
CLI=$POOLSCOPE_TEST_CLI
demo=$1

run_captured "$WORK/run" "$CLI" run --engine "$POOLSCOPE_TEST_ENGINE" -o "$WORK/demo.trace" -- "$demo"
[[ $(cat "$WORK/run/status") == 0 ]] || fail "the demo exited $(cat "$WORK/run/status"): $(cat "$WORK/run/stderr")"
grep -q '^leaked: 8 blocks of 1024 bytes, never freed$' "$WORK/run/stdout" || fail "the demo did not run to its end"
"$CLI" report "$WORK/demo.trace" >"$WORK/report" || fail "poolscope report failed"

leaks=$(sed -n '/^sites leaking/,/^$/p' "$WORK/report")
first=$(sed -n 2,3p <<<"$leaks")
grep -q '8192 B  8 allocs' <<<"$first" && grep -q 'at Leak .*/demo\.cc:61$' <<<"$first" ||
  fail "the largest leak is not the demo's 8 KiB at demo.cc:61: $leaks"
! grep -q 'unknown stack' <<<"$leaks" || fail "a leak at an unknown stack (libstdc++'s pool?): $leaks"
if grep -E '(at|by) _start ' "$WORK/report" | grep -vqE '_start \(.*\+0x[0-9a-f]+\)$'; then
  fail "_start has a file:line it cannot have: $(grep -E '(at|by) _start ' "$WORK/report" | sort -u)"
fi

rc=0
"$CLI" check "$WORK/demo.trace" --max-leaked 4KiB >"$WORK/check" 2>&1 || rc=$?
[[ $rc == 1 ]] && grep -q '^max-leaked exceeded: .*; most from Leak .*demo\.cc:61 (8192 B)$' "$WORK/check" ||
  fail "check --max-leaked 4KiB exited $rc: $(cat "$WORK/check")"
echo "ok: $(cat "$WORK/check")"
