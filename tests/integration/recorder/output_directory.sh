#!/bin/bash
# A POOLSCOPE_OUTPUT (or `run -o`) that names a directory puts poolscope.PID.trace in it:
# written as an existing directory's path, with or without a final '/', and through the CLI,
# whose summary then names that file. A '/'-terminated directory that does not exist is an
# unwritable path: one line, and the program runs on.
# Usage: output_directory.sh PROGRAM (deterministic.cc's binary)
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
prog=$1
steps=2000

run_captured "$WORK/plain" "$prog" "$steps"
[[ $(cat "$WORK/plain/status") == 0 ]] || fail "the plain run failed"

# expect_trace_in NAME RUN-DIR TRACE-DIR: the run behaved as the plain one, and TRACE-DIR holds
# exactly one trace, poolscope.PID.trace, readable, of the traced process.
expect_trace_in() {
  local name=$1 run=$2 dir=$3 traces
  [[ $(cat "$run/status") == 0 ]] || fail "$name: exit status $(cat "$run/status"): $(cat "$run/stderr")"
  cmp -s "$WORK/plain/stdout" "$run/stdout" || fail "$name: the program's output differs"
  traces=$(cd "$dir" && ls)
  [[ $traces =~ ^poolscope\.[0-9]+\.trace$ ]] || fail "$name: expected one poolscope.PID.trace in $dir, found: $traces"
  probe_facts "$dir/$traces" "$WORK/facts"
  expect_fact "$WORK/facts" pid "${traces//[^0-9]/}" "$name"
  (($(fact "$WORK/facts" alloc_records) > 100)) || fail "$name: the trace holds almost no allocations"
  echo "ok: $name: $dir/$traces"
}

mkdir -p "$WORK/plain-dir" "$WORK/slash-dir"
POOLSCOPE_OUTPUT=$WORK/plain-dir run_captured "$WORK/run1" traced "$prog" "$steps"
expect_trace_in "POOLSCOPE_OUTPUT=DIR" "$WORK/run1" "$WORK/plain-dir"
POOLSCOPE_OUTPUT=$WORK/slash-dir/ run_captured "$WORK/run2" traced "$prog" "$steps"
expect_trace_in "POOLSCOPE_OUTPUT=DIR/" "$WORK/run2" "$WORK/slash-dir"
[[ ! -s $WORK/run2/stderr ]] || fail "POOLSCOPE_OUTPUT=DIR/ said: $(cat "$WORK/run2/stderr")"

mkdir -p "$WORK/cli-dir"
run_captured "$WORK/cli" "$CLI" run --engine "$ENGINE" -o "$WORK/cli-dir" -- "$prog" "$steps"
expect_trace_in "poolscope run -o DIR" "$WORK/cli" "$WORK/cli-dir"
trace=$(ls "$WORK/cli-dir")
grep -qF "$WORK/cli-dir/$trace" "$WORK/cli/stderr" ||
  fail "poolscope run's summary does not name $WORK/cli-dir/$trace: $(cat "$WORK/cli/stderr")"

POOLSCOPE_OUTPUT=$WORK/missing/ run_captured "$WORK/run3" traced "$prog" "$steps"
[[ $(cat "$WORK/run3/status") == 0 ]] && cmp -s "$WORK/plain/stdout" "$WORK/run3/stdout" ||
  fail "POOLSCOPE_OUTPUT=MISSING/: the program did not run as without the library"
[[ $(wc -l <"$WORK/run3/stderr") == 1 ]] &&
  grep -qF "cannot create the trace $WORK/missing/poolscope." "$WORK/run3/stderr" ||
  fail "POOLSCOPE_OUTPUT=MISSING/: expected one line about $WORK/missing/poolscope.PID.trace, got: $(cat "$WORK/run3/stderr")"
echo "ok: POOLSCOPE_OUTPUT=MISSING/: $(cat "$WORK/run3/stderr")"
