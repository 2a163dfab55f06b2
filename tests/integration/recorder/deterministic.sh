#!/bin/bash
# Issue 5, "Done when": a deterministic program whose allocation count, total bytes, peak heap
# and leaked bytes (known from the program itself) the trace reproduces exactly, and equal to
# heaptrack's on the same program except for allocations outside main's work, listed by name.
#
# deterministic.cc keeps its own books of run_workload() and frames it with poolscope_mark
# ("work-begin"/"work-end"). The trace of `poolscope run` must give, between the marks, exactly
# the program's figures (trace_probe window), each with run_workload() on its recorded stack,
# and be whole (End record with status 0, no damage). heaptrack records the same program plain;
# heaptrack_compare.py reads its data file exactly and requires the same figures for the
# allocations under run_workload(), then lists by size and stack every allocation outside the
# work that one tool saw and the other did not.
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
prog=$1
compare=$2

run_captured "$WORK/plain" "$prog"
[[ $(cat "$WORK/plain/status") == 0 ]] || fail "plain run exited $(cat "$WORK/plain/status")"
grep -q '^allocations=[1-9]' "$WORK/plain/stdout" || fail "the program printed no figures"

mkdir "$WORK/traces"
run_captured "$WORK/traced" "$CLI" run --engine "$ENGINE" -o "$WORK/traces/det.%p.trace" -- "$prog"
[[ $(cat "$WORK/traced/status") == 0 ]] || fail "traced run exited $(cat "$WORK/traced/status"): $(cat "$WORK/traced/stderr")"
cmp -s "$WORK/plain/stdout" "$WORK/traced/stdout" || fail "the program's output differs under poolscope run"
shopt -s nullglob
traces=("$WORK"/traces/*)
[[ ${#traces[@]} == 1 ]] || fail "expected one trace, found ${#traces[@]}: ${traces[*]}"
trace=${traces[0]}

probe_facts "$trace" "$WORK/facts"
expect_fact "$WORK/facts" engine "$ENGINE"
expect_fact "$WORK/facts" end_records 1
expect_fact "$WORK/facts" exit_status 0
expect_fact "$WORK/facts" corrupt_frames 0
expect_fact "$WORK/facts" truncated 0
expect_fact "$WORK/facts" process_records 1
expect_fact "$WORK/facts" threads 1
expect_fact "$WORK/facts" marks "work-begin,work-end"

"$PROBE" window "$trace" work-begin work-end >"$WORK/window"
expect_fact "$WORK/window" marks_found 1
for key in allocations reallocs frees bytes peak leaked_bytes leaked_blocks; do
  want=$(fact "$WORK/plain/stdout" "$key")
  expect_fact "$WORK/window" "$key" "$want" "the trace between the marks"
  echo "ok: $key $want"
done
expect_fact "$WORK/window" reallocs_of_outside_blocks 0
expect_fact "$WORK/window" reused_without_free 0

# The CLI's own reading of the same trace agrees with the probe's record counts.
"$CLI" report "$trace" >"$WORK/report" || fail "poolscope report failed on $trace"
grep -q "^calls *$(fact "$WORK/facts" alloc_records) allocations, $(fact "$WORK/facts" free_records) frees, $(fact "$WORK/facts" realloc_records) reallocs" "$WORK/report" ||
  fail "poolscope report's counts differ from the records: $(cat "$WORK/report")"
grep -q "exit status 0" "$WORK/report" || fail "poolscope report shows no exit status: $(cat "$WORK/report")"

command -v heaptrack >/dev/null && command -v heaptrack_print >/dev/null ||
  skip "the poolscope checks passed; heaptrack is not installed (scripts/setup.sh), so the comparison did not run"
(cd "$WORK" && run_captured "$WORK/heaptrack" heaptrack -o "$WORK/ht" "$prog")
[[ $(cat "$WORK/heaptrack/status") == 0 ]] || fail "heaptrack run failed: $(cat "$WORK/heaptrack/stderr")"
# heaptrack prints its own lines around the program's output.
grep -v -e '^heaptrack' -e '^/usr/lib/heaptrack' -e '^starting application' -e '^Heaptrack finished' \
  -e '^  heaptrack --analyze' -e '^$' "$WORK/heaptrack/stdout" >"$WORK/heaptrack/program_stdout"
cmp -s "$WORK/plain/stdout" "$WORK/heaptrack/program_stdout" ||
  fail "the program's figures differ under heaptrack: $(cat "$WORK/heaptrack/stdout")"
ht_file=""
for f in "$WORK/ht.zst" "$WORK/ht.gz"; do  # heaptrack writes .gz when zstd is missing
  [[ ! -f $f ]] || ht_file=$f
done
[[ -n $ht_file ]] || fail "heaptrack wrote no data file: $(ls "$WORK")"
heaptrack_print -f "$ht_file" >"$WORK/heaptrack/print" 2>&1 || fail "heaptrack_print failed"
ht_calls=$(sed -n 's/^calls to allocation functions: \([0-9]*\).*/\1/p' "$WORK/heaptrack/print")
[[ -n $ht_calls ]] || fail "no call count in heaptrack_print's output"
"$PROBE" allocs "$trace" >"$WORK/allocs"
"$PYTHON" "$compare" "$ht_file" "$WORK/allocs" "$WORK/plain/stdout" "$prog" run_workload |
  tee "$WORK/compare" || fail "poolscope and heaptrack disagree on the workload (see above)"
grep -q "^whole program: heaptrack $ht_calls allocation events" "$WORK/compare" ||
  fail "heaptrack_print counts $ht_calls calls, the data file another number"
