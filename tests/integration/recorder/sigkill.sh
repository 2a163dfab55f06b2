#!/bin/bash
# Issue 5, "Done when": a process killed by SIGKILL after >= 1 M allocations yields every event
# older than 1 s (DESIGN.md: the writer flushes at least every 250 ms, one whole frame per write).
# Usage: sigkill.sh PROGRAM direct|forked
#
# sigkill_subject allocates blocks of a distinctive size, 1.2 M at up to 800,000 a second and
# then a trickle of 1,000 a second (too slow to fill a buffer: only the periodic flush writes
# those), logging "time count" lines with write(2). "forked": the allocating process is a
# fork()ed child of the traced program (no exec), which must get the same guarantee in its own
# trace. Two seconds into the trickle it is killed with SIGKILL at time K (CLOCK_MONOTONIC, the
# trace's clock). From its log, C is its count at the latest line written at or before K - 1 s.
# Its trace must be readable, have no End record and no corrupt frame, and hold >= C
# allocations of that size stamped <= K - 1 s.
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
prog=$1
mode=$2
size=4321
fast=1200000

progress=$WORK/progress
LD_PRELOAD="$POOLSCOPE_TEST_LIB" POOLSCOPE_ENGINE="$ENGINE" POOLSCOPE_TRACE=full \
  POOLSCOPE_OUTPUT="$WORK/killed.%p.trace" "$prog" "$progress" "$size" "$fast" "$mode" \
  </dev/null 2>"$WORK/stderr" &
pid=$!
victim=""
for ((i = 0; i < 400; ++i)); do  # at most 20 s
  sleep 0.05
  kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; fail "the program died before the kill: $(cat "$WORK/stderr")"; }
  [[ -n $victim ]] || victim=$(sed -n 's/^# pid //p' "$progress" 2>/dev/null)
  last=$(tail -n1 "$progress" 2>/dev/null) || continue
  [[ $last != \#* && -n $last ]] || continue
  ((${last#* } < fast + 2000)) || break
done
[[ -n $victim ]] || fail "the program never logged its pid"
[[ $mode == direct ]] && [[ $victim != "$pid" ]] && fail "pid $victim logged, $pid started"
[[ $mode == forked ]] && [[ $victim == "$pid" ]] && fail "the allocating process is not a child"
kill_ns=$("$PROBE" now)
kill -KILL "$victim"
status=0
wait "$pid" || status=$?
[[ $status == 137 ]] || fail "the program exited $status, not by the kill: $(cat "$WORK/stderr")"
[[ ! -s $WORK/stderr ]] || fail "the library wrote to stderr: $(cat "$WORK/stderr")"

cutoff=$((kill_ns - 1000000000))
read -r c_time c_count < <(awk -v cut="$cutoff" '!/^#/ && $1 <= cut { t = $1; c = $2 } END { print t, c }' "$progress")
total=$(tail -n1 "$progress" | cut -d' ' -f2)
[[ -n $c_count ]] || fail "no progress line older than 1 s before the kill"
echo "killed pid $victim ($mode) at $kill_ns after >= $total allocations; $c_count were made by $c_time (<= kill - 1 s)"

trace=$WORK/killed.$victim.trace
[[ -f $trace ]] || fail "no trace for the killed process: $(ls "$WORK")"
probe_facts "$trace" "$WORK/facts"
grep -E '^(frames|truncated|corrupt_frames|file_bytes|end_records|alloc_records)=' "$WORK/facts"
expect_fact "$WORK/facts" end_records 0
expect_fact "$WORK/facts" corrupt_frames 0
expect_fact "$WORK/facts" process_records 1
expect_fact "$WORK/facts" pid "$victim"
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
