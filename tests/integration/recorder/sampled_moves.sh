#!/bin/bash
# Sampled recording with blocks sampled densely (one per 4 KiB allocated on average), so that
# thousands of them take the sampled path: under the pool engine, out of the arena
# (Engine::MoveSampledBlock) and back through the generic free. The program checks every block
# it gets (contents, zeroing, alignment, usable size); the trace must then have seen every
# sampled block's free: with everything freed, nothing but start-up leftovers is estimated
# leaked, and with the last windows leaked, the estimate finds them.
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
prog=$1

for mode in free leak; do
  t=$WORK/$mode.trace
  run_captured "$WORK/$mode" env POOLSCOPE_SAMPLE_SEED=7 \
    "$CLI" run --engine "$ENGINE" --trace sampled --sample-bytes 4096 -o "$t" -- "$prog" \
    $([[ $mode == leak ]] && echo leak)
  [[ $(cat "$WORK/$mode/status") == 0 ]] ||
    fail "$mode: exited $(cat "$WORK/$mode/status"): $(cat "$WORK/$mode/stderr")"
  grep -qx ok "$WORK/$mode/stdout" || fail "$mode: the program did not finish: $(cat "$WORK/$mode/stdout")"
  probe_facts "$t" "$WORK/$mode.facts"
  expect_fact "$WORK/$mode.facts" corrupt_frames 0 "$mode"
  expect_fact "$WORK/$mode.facts" end_records 1 "$mode"
  samples=$(fact "$WORK/$mode.facts" sampled_alloc_records)
  ((samples >= 20000)) || fail "$mode: only $samples sampled allocations"
  leaked=$(fact "$WORK/$mode.facts" summary_leaked_bytes)
  echo "$mode: $samples samples, estimated leaked $leaked bytes; program: $(fact "$WORK/$mode/stdout" leaked)"
done

# stdio's buffer and the like: a few blocks of a few KiB. One missed free among the samples
# would show at least 4 KiB more, and a missed fraction of them far more.
leaked=$(fact "$WORK/free.facts" summary_leaked_bytes)
((leaked <= 32768)) || fail "everything was freed, yet $leaked bytes are estimated leaked"

# About 4000 blocks of about 1.5 KiB on average are left: a few thousand samples, a few % of
# sampling error.
want=$(fact "$WORK/leak/stdout" leaked)
got=$(fact "$WORK/leak.facts" summary_leaked_bytes)
"$PYTHON" -c "import sys; w, g = $want, $got; sys.exit(0 if abs(g - w) <= 0.15 * w else 1)" ||
  fail "the program leaked $want bytes, the sampled trace estimates $got"
