#!/bin/bash
# Issue 5, "Done when": 64 threads allocating at once lose no event.
#
# threads64.c runs two rounds of 64 threads released by a barrier; each thread allocates and
# frees 5000 blocks of a size of its own (malloc, calloc, posix_memalign). The trace must hold,
# for each of the 128 sizes, exactly 5000 allocations and 5000 frees of them (frees matched to
# the same thread's allocations by address), all from one trace thread, and 128 distinct
# thread ids among those sizes' allocations; it must end (End record, status 0) undamaged.
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
prog=$1
per_thread=5000

trace=$WORK/threads.trace
run_captured "$WORK/run" env POOLSCOPE_OUTPUT="$trace" POOLSCOPE_TRACE=full \
  LD_PRELOAD="$POOLSCOPE_TEST_LIB" POOLSCOPE_ENGINE="$ENGINE" "$prog" "$per_thread"
[[ $(cat "$WORK/run/status") == 0 ]] || fail "the program exited $(cat "$WORK/run/status"): $(cat "$WORK/run/stderr")"
[[ ! -s $WORK/run/stderr ]] || fail "unexpected stderr: $(cat "$WORK/run/stderr")"

probe_facts "$trace" "$WORK/facts"
expect_fact "$WORK/facts" end_records 1
expect_fact "$WORK/facts" exit_status 0
expect_fact "$WORK/facts" corrupt_frames 0
expect_fact "$WORK/facts" truncated 0
expect_fact "$WORK/facts" caps ""
echo "trace: $(fact "$WORK/facts" frames) frames, $(fact "$WORK/facts" threads) thread ids," \
  "$(fact "$WORK/facts" thread_starts) thread starts, $(fact "$WORK/facts" alloc_records) allocations"

"$PROBE" sizes "$trace" 20001 23009 >"$WORK/sizes"
bad=0
for round in 0 1; do
  for t in $(seq 0 63); do
    size=$((20001 + 2000 * round + 16 * t))
    line=$(grep "^$size " "$WORK/sizes" || echo "$size 0 0 0")
    if [[ $line != "$size $per_thread $per_thread 1" ]]; then
      echo "round $round thread $t: size allocs frees threads = $line, expected $size $per_thread $per_thread 1" >&2
      bad=$((bad + 1))
    fi
  done
done
[[ $(wc -l <"$WORK/sizes") == 128 ]] || fail "$(wc -l <"$WORK/sizes") distinct sizes in range, expected 128"
((bad == 0)) || fail "$bad of 128 threads have events missing or misattributed"

# The 128 threads got 128 distinct trace thread ids (a slot reused by round 2 is a new thread).
ids=$(awk '{ n += $4 } END { print n + 0 }' "$WORK/sizes")
[[ $ids == 128 ]] || fail "the sizes were allocated by $ids thread ids in all, expected 128"
distinct=$(fact "$WORK/facts" threads)
((distinct >= 129)) || fail "only $distinct distinct thread ids in the trace, expected 128 workers + main"
echo "ok: 128 threads x $per_thread allocations and frees, none lost"
