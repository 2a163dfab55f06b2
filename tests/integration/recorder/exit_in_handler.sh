#!/bin/bash
# Regression: the _exit wrapper once flushed with the recorder's ordinary locks, so an _exit
# from a signal handler that interrupted the recorder could wait forever. Twenty runs must all
# end with status 7 and leave a readable, undamaged trace. When the handler interrupted the
# recorder in the middle of a write, what it was writing (and the End record) is given up
# rather than waited for, so most runs, not all, carry the End record.
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
prog=$1
ended=0
for run in $(seq 20); do
  trace=$WORK/exit.$run.trace
  rc=0
  timeout 20 env POOLSCOPE_OUTPUT="$trace" POOLSCOPE_TRACE=full LD_PRELOAD="$POOLSCOPE_TEST_LIB" \
    POOLSCOPE_ENGINE="$ENGINE" "$prog" || rc=$?
  [[ $rc == 7 ]] || fail "run $run: exit status $rc (124: it hung)"
  probe_facts "$trace" "$WORK/facts"
  grep -qx 'corrupt_frames=0' "$WORK/facts" || fail "run $run: damaged trace"
  if grep -qx 'end_records=1' "$WORK/facts"; then
    grep -qx 'exit_status=7' "$WORK/facts" || fail "run $run: wrong exit status in the trace"
    ended=$((ended + 1))
  fi
done
((ended >= 15)) || fail "only $ended of 20 traces have their End record"
echo "ok: 20 _exit calls from a signal handler; $ended traces with the End record"
