#!/bin/bash
# Issue 5: libunwind's _Unwind_* must not take over the traced program's C++ exception
# handling: "the foundation's exception and pthread_cancel hazard tests keep passing" while
# recording. Runs the hazard programs built by ../hazards (exceptions: C++ exceptions thrown
# in a dlopened library, across threads and through C frames; cancel: 60 threads cancelled
# with cleanup handlers and destructors) plain and preloaded with POOLSCOPE_TRACE=full: output,
# status and files must be identical, with the same expected output as the hazard tests, and
# the program's trace must be whole (End record, status 0) with its allocations in it.
# Usage: hazards_traced.sh exceptions|cancel PROGRAM [DSO]
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
name=$1
shift

mkdir "$WORK/traces"
export POOLSCOPE_TRACE=full POOLSCOPE_OUTPUT=$WORK/traces/%p.trace
compare_runs "$name" timeout -k 5 40 "$@"
[[ $name == exceptions || $name == cancel ]] || fail "unknown hazard $name"
expected=$(cat "$(dirname "$0")/../hazards/$name.expected")
[[ $(cat "$WORK/$name.plain/stdout") == "$expected" ]] ||
  fail "plain run: $(cat "$WORK/$name.plain/stdout") (status $(cat "$WORK/$name.plain/status"))"

# The traces: timeout's own and the program's (timeout forks and execs it).
found=0
for t in "$WORK"/traces/*; do
  probe_facts "$t" "$WORK/facts"
  [[ $(fact "$WORK/facts" executable) == "$(realpath "$1")" ]] || continue
  found=$((found + 1))
  expect_fact "$WORK/facts" end_records 1 "$name's trace"
  expect_fact "$WORK/facts" exit_status 0 "$name's trace"
  expect_fact "$WORK/facts" corrupt_frames 0 "$name's trace"
  expect_fact "$WORK/facts" truncated 0 "$name's trace"
  (($(fact "$WORK/facts" alloc_records) >= 100)) || fail "$name's trace holds only $(fact "$WORK/facts" alloc_records) allocations"
  (($(fact "$WORK/facts" stack_nodes) > 0)) || fail "$name's trace holds no stacks"
  echo "ok: $name's trace: $(fact "$WORK/facts" alloc_records) allocations, $(fact "$WORK/facts" threads) threads, $(fact "$WORK/facts" stack_nodes) stack nodes"
done
[[ $found == 1 ]] || fail "expected one trace of $1, found $found among $(ls "$WORK/traces" | wc -l) traces"
