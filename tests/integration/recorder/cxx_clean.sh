#!/bin/bash
# A C++ program that frees everything (cxx_clean.cc), recorded in full: the trace leaves no
# block allocated at the end, so `poolscope check --max-leaked 0` passes. libstdc++'s emergency
# exception pool, allocated by its constructor before the library's, is freed at exit
# (__gnu_cxx::__freeres) instead of showing as a 71 KiB leak in every C++ program. Looking
# that function up in a C program (where it fails, and dlerror allocates its message) is the
# library's business: /usr/bin/true, which allocates nothing, records no allocation.
# Usage: cxx_clean.sh PROGRAM
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
prog=$1

run_captured "$WORK/plain" "$prog"
[[ $(cat "$WORK/plain/status") == 0 ]] || fail "the plain run failed"
POOLSCOPE_OUTPUT=$WORK/clean.trace run_captured "$WORK/traced" traced "$prog"
[[ $(cat "$WORK/traced/status") == 0 ]] || fail "the traced run exited $(cat "$WORK/traced/status"): $(cat "$WORK/traced/stderr")"
cmp -s "$WORK/plain/stdout" "$WORK/traced/stdout" || fail "the traced run's output differs"
[[ ! -s $WORK/traced/stderr ]] || fail "the traced run said: $(cat "$WORK/traced/stderr")"

probe_facts "$WORK/clean.trace" "$WORK/facts"
(($(fact "$WORK/facts" alloc_records) > 20000)) || fail "the trace holds too few allocations"
"$CLI" report "$WORK/clean.trace" >"$WORK/report" || fail "poolscope report failed"
"$CLI" check "$WORK/clean.trace" --max-leaked 0 >"$WORK/check" 2>&1 ||
  fail "the program freed everything, yet: $(cat "$WORK/check"); leaks in the report: $(grep -A4 'sites leaking' "$WORK/report")"
echo "ok: $(cat "$WORK/check")"

POOLSCOPE_OUTPUT=$WORK/true.trace run_captured "$WORK/true" traced /usr/bin/true
[[ $(cat "$WORK/true/status") == 0 && ! -s $WORK/true/stderr ]] || fail "traced /usr/bin/true failed: $(cat "$WORK/true/stderr")"
probe_facts "$WORK/true.trace" "$WORK/true.facts"
expect_fact "$WORK/true.facts" alloc_records 0 "allocations recorded for /usr/bin/true"
echo "ok: /usr/bin/true: no allocation recorded"
