#!/bin/bash
# Blocks allocated, reallocated and freed by three different threads, their addresses then
# reused by the allocating threads: the trace between the marks must give exactly the
# program's own figures (cross_thread.c), so every free and realloc found the block it ends
# whichever thread numbered it, no failed realloc lost its block's name, and no address was
# reused while its previous block still looked alive.
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
prog=$1

run_captured "$WORK/plain" "$prog"
[[ $(cat "$WORK/plain/status") == 0 ]] || fail "plain run exited $(cat "$WORK/plain/status")"

trace=$WORK/cross.trace
run_captured "$WORK/run" env POOLSCOPE_OUTPUT="$trace" POOLSCOPE_TRACE=full \
  LD_PRELOAD="$POOLSCOPE_TEST_LIB" POOLSCOPE_ENGINE="$ENGINE" "$prog"
[[ $(cat "$WORK/run/status") == 0 ]] || fail "the program exited $(cat "$WORK/run/status"): $(cat "$WORK/run/stderr")"
[[ ! -s $WORK/run/stderr ]] || fail "unexpected stderr: $(cat "$WORK/run/stderr")"
cmp -s "$WORK/plain/stdout" "$WORK/run/stdout" || fail "the program's figures differ when traced"

probe_facts "$trace" "$WORK/facts"
expect_fact "$WORK/facts" engine "$ENGINE"
expect_fact "$WORK/facts" end_records 1
expect_fact "$WORK/facts" exit_status 0
expect_fact "$WORK/facts" corrupt_frames 0
expect_fact "$WORK/facts" caps ""

"$PROBE" window "$trace" work-begin work-end >"$WORK/window"
expect_fact "$WORK/window" marks_found 1
for key in allocations reallocs frees bytes leaked_bytes leaked_blocks; do
  want=$(fact "$WORK/run/stdout" "$key")
  expect_fact "$WORK/window" "$key" "$want" "the trace between the marks"
  echo "ok: $key $want"
done
expect_fact "$WORK/window" reallocs_of_outside_blocks 0
expect_fact "$WORK/window" reused_without_free 0
