#!/bin/bash
# Issue 4: a process that is not recorded maps none of the libraries only recording, sampling
# or C++ needs. The library needs glibc's libc alone (readelf: no libstdc++, libzstd,
# libunwind, libm or libgcc_s); an untraced run's own /proc/self/maps shows none of them; a
# traced run loads libzstd and libunwind and writes a whole trace; and when libzstd cannot be
# loaded, recording is off after one line on stderr and the program runs on untouched.
# Usage: dependencies.sh NOT_ZSTD (a library without libzstd's functions)
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
not_zstd=$1

optional='libstdc\+\+|libzstd|libunwind|libm\.so|libgcc_s'

needed=$(readelf -d "$POOLSCOPE_TEST_LIB" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
[[ $needed == "ld-linux-x86-64.so.2 libc.so.6 " ]] || fail "DT_NEEDED: $needed"

run_captured "$WORK/untraced" preloaded cat /proc/self/maps
[[ $(cat "$WORK/untraced/status") == 0 ]] || fail "untraced run: status $(cat "$WORK/untraced/status")"
grep -q libpoolscope "$WORK/untraced/stdout" || fail "untraced run: the library is not mapped"
! grep -E "$optional" "$WORK/untraced/stdout" || fail "untraced run maps the lines above"

mkdir "$WORK/traces"
POOLSCOPE_OUTPUT="$WORK/traces/%p.trace" run_captured "$WORK/traced" traced cat /proc/self/maps
[[ $(cat "$WORK/traced/status") == 0 && ! -s $WORK/traced/stderr ]] ||
  fail "traced run: status $(cat "$WORK/traced/status"): $(cat "$WORK/traced/stderr")"
for library in libzstd libunwind; do
  grep -q "$library" "$WORK/traced/stdout" || fail "traced run: $library is not mapped"
done
traces=("$WORK"/traces/*)
[[ ${#traces[@]} == 1 ]] || fail "traced run: ${#traces[@]} traces, expected 1"
probe_facts "${traces[0]}" "$WORK/facts"
expect_fact "$WORK/facts" end_records 1
expect_fact "$WORK/facts" exit_status 0
expect_fact "$WORK/facts" corrupt_frames 0
(($(fact "$WORK/facts" alloc_records) > 0)) || fail "traced run: no allocations recorded"
(($(fact "$WORK/facts" stack_nodes) > 0)) || fail "traced run: no stacks recorded"

mkdir "$WORK/not-zstd" "$WORK/traces-not-zstd"
cp "$not_zstd" "$WORK/not-zstd/libzstd.so.1"
echo "the program's input" >"$WORK/input"
LD_LIBRARY_PATH="$WORK/not-zstd${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  POOLSCOPE_OUTPUT="$WORK/traces-not-zstd/%p.trace" run_captured "$WORK/no-zstd" traced cat "$WORK/input"
[[ $(cat "$WORK/no-zstd/status") == 0 ]] || fail "without libzstd: status $(cat "$WORK/no-zstd/status")"
cmp -s "$WORK/input" "$WORK/no-zstd/stdout" || fail "without libzstd: the program's output differs"
[[ $(wc -l <"$WORK/no-zstd/stderr") == 1 ]] &&
  grep -q '^poolscope: cannot load libzstd.*recording is off' "$WORK/no-zstd/stderr" ||
  fail "without libzstd: expected one line on stderr, got: $(cat "$WORK/no-zstd/stderr")"
[[ -z $(ls "$WORK/traces-not-zstd") ]] || fail "without libzstd: a trace was written"
echo "ok: no optional DT_NEEDED; untraced run maps none; traced run loads them ($(fact "$WORK/facts" alloc_records) allocations); without libzstd: $(cat "$WORK/no-zstd/stderr")"
