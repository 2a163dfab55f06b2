#!/bin/bash
# Thread churn (thread_churn.c): 4500 threads one after another, more than the recorder's 4096
# thread slots, each with a pthread key destructor that frees after the recorder's own ran
# (and, with `rearm`, in two more destructor rounds). The trace must hold each thread once (a
# late event used to start a second state for its thread, and one that came after the last
# destructor round kept its slot for good, so the slots ran out and allocations went
# unrecorded), reach no recorder limit, record every allocation, and leave out the unmapping
# of libunwind's per-thread cache, which is the recorder's memory.
# Usage: thread_churn.sh PROGRAM MODE   (MODE: once | rearm)
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
prog=$1
mode=$2
threads=4500

POOLSCOPE_OUTPUT=$WORK/churn.trace run_captured "$WORK/run" traced "$prog" "$threads" "$mode"
[[ $(cat "$WORK/run/status") == 0 ]] || fail "exit status $(cat "$WORK/run/status"): $(cat "$WORK/run/stderr")"
[[ ! -s $WORK/run/stderr ]] || fail "the traced run said: $(cat "$WORK/run/stderr")"
read -r _ _ _ expected < "$WORK/run/stdout"

probe_facts "$WORK/churn.trace" "$WORK/facts"
grep -E '^(threads|thread_starts|thread_exits|alloc_records|free_records|munmap_records|caps)=' "$WORK/facts"
expect_fact "$WORK/facts" caps "" "recorder limits"
expect_fact "$WORK/facts" threads $((threads + 1)) "threads in the trace"
expect_fact "$WORK/facts" thread_starts $((threads + 1)) "thread starts"
expect_fact "$WORK/facts" munmap_records 0 "munmaps (the program makes none)"
allocs=$(fact "$WORK/facts" alloc_records)
# Besides the workers', the runtime allocates a few blocks of its own (stdio's buffer, ...).
((allocs >= expected && allocs <= expected + 16)) ||
  fail "$allocs allocations recorded, expected the workers' $expected and a few of the runtime's"
leaked=$(fact "$WORK/facts" summary_leaked_blocks)
((leaked <= 4)) || fail "$leaked blocks leaked: the destructors' frees went unrecorded"
echo "ok: $threads threads, $allocs allocations, $leaked blocks left at the end (the runtime's)"
