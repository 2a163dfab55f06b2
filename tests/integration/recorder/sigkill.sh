#!/bin/bash
# Issue 5, "Done when": a process killed by SIGKILL after >= 1 M allocations yields every event
# older than 1 s (the flusher writes at least every 250 ms, one whole frame per write).
#
# sigkill_subject allocates blocks of a distinctive size at up to 800,000 a second and logs
# "time count" lines with write(2). Once it has made >= 1.5 M allocations over >= 2.5 s, it is
# killed with SIGKILL at time K (CLOCK_MONOTONIC, the trace's clock). From its log, C is its
# count at the latest line written at or before K - 1 s. The trace must be readable, have no
# End record and no corrupt frame, and hold >= C allocations of that size stamped <= K - 1 s.
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
prog=$1
size=4321

progress=$WORK/progress
trace=$WORK/killed.trace
LD_PRELOAD="$POOLSCOPE_TEST_LIB" POOLSCOPE_ENGINE="$ENGINE" POOLSCOPE_TRACE=full \
  POOLSCOPE_OUTPUT="$trace" "$prog" "$progress" "$size" 800000 </dev/null 2>"$WORK/stderr" &
pid=$!
first=""
for ((i = 0; i < 400; ++i)); do  # at most 20 s
  sleep 0.05
  kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; fail "the program died before the kill: $(cat "$WORK/stderr")"; }
  last=$(tail -n1 "$progress" 2>/dev/null) || continue
  [[ -n $last ]] || continue
  [[ -n $first ]] || first=${last%% *}
  now=$("$PROBE" now)
  if ((${last#* } >= 1500000 && now - first >= 2500000000)); then
    break
  fi
done
kill_ns=$("$PROBE" now)
kill -KILL "$pid"
status=0
wait "$pid" || status=$?
[[ $status == 137 ]] || fail "the program exited $status before it was killed: $(cat "$WORK/stderr")"
[[ ! -s $WORK/stderr ]] || fail "the library wrote to stderr: $(cat "$WORK/stderr")"

cutoff=$((kill_ns - 1000000000))
read -r c_time c_count < <(awk -v cut="$cutoff" '$1 <= cut { t = $1; c = $2 } END { print t, c }' "$progress")
total=$(tail -n1 "$progress" | cut -d' ' -f2)
[[ -n $c_count ]] || fail "no progress line older than 1 s before the kill"
echo "killed at $kill_ns after >= $total allocations; $c_count were made by $c_time (<= kill - 1 s)"

probe_facts "$trace" "$WORK/facts"
cat "$WORK/facts" | grep -E '^(frames|truncated|corrupt_frames|file_bytes|end_records|alloc_records)='
expect_fact "$WORK/facts" end_records 0
expect_fact "$WORK/facts" corrupt_frames 0
expect_fact "$WORK/facts" process_records 1
"$CLI" report "$trace" >"$WORK/report" || fail "poolscope report cannot read the killed trace"
grep -q "no end record (killed?)" "$WORK/report" || fail "poolscope report does not say the process was killed: $(cat "$WORK/report")"

# Allocations of the distinctive size stamped at or before the cut-off.
"$PROBE" times "$trace" "$size" "$size" >"$WORK/times"
have=$(awk -v cut="$cutoff" '$1 <= cut { n++ } END { print n + 0 }' "$WORK/times")
all=$(wc -l <"$WORK/times")
newest=$(tail -n1 "$WORK/times")
echo "the trace holds $all allocations of $size B, $have of them stamped <= kill - 1 s;" \
  "the newest is $(((kill_ns - ${newest:-0}) / 1000000)) ms before the kill"
((have >= c_count)) || fail "only $have allocations older than 1 s are in the trace; the program had made $c_count by then"
((all <= total + 10000)) || fail "the trace holds $all allocations, more than the program made ($total + at most 10000 unlogged)"
