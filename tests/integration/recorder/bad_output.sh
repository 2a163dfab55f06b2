#!/bin/bash
# Issue 5: "A full disk or an unwritable path turns recording off with one line on stderr while
# the program runs on untouched." Usage: bad_output.sh CASE PROGRAM (deterministic.cc's binary)
#
#   unwritable  POOLSCOPE_OUTPUT under /proc, under a regular file, and in a read-only mount:
#               stdout and status as without the library, stderr exactly one "poolscope:" line.
#   cli         the same through `poolscope run -o /proc/nope/%p.trace`: the program's status
#               and stdout, the library's one line, and no claim that a trace was written.
#   full-disk   the trace on a 256 KiB tmpfs (needs root to mount; skipped otherwise) with a
#               workload whose trace is ~0.6 MiB: stdout and status as without the library, one
#               line on stderr, and the partial trace readable: no corrupt frame, its Process
#               record first, and its events so far.
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
case_name=$1
prog=$2

mounts=()
cleanup() {
  local m
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# try_mount DIR OPTIONS: mounts a small tmpfs on DIR; false when not allowed here.
try_mount() {
  mkdir -p "$1"
  mount -t tmpfs -o "$2" poolscope-test "$1" 2>/dev/null || return 1
  mounts+=("$1")
}

# The full-disk workload must trace well over 256 KiB (about 0.6 MiB here). Without meson's
# MALLOC_PERTURB_, glibc does not fill its many large blocks: the plain and libc runs stay fast.
unset MALLOC_PERTURB_
steps=20000
[[ $case_name != full-disk ]] || steps=200000
run_captured "$WORK/plain" "$prog" "$steps"
[[ $(cat "$WORK/plain/status") == 0 && ! -s $WORK/plain/stderr ]] || fail "the plain run failed"

# expect_one_line NAME DIR: DIR's stdout/status as the plain run's, stderr one poolscope line.
expect_like_plain() {
  local name=$1 dir=$2
  [[ $(cat "$dir/status") == 0 ]] || fail "$name: exit status $(cat "$dir/status"), expected 0: $(cat "$dir/stderr")"
  cmp -s "$WORK/plain/stdout" "$dir/stdout" || fail "$name: the program's output differs from the plain run"
}
expect_one_line() {
  local name=$1 dir=$2
  expect_like_plain "$name" "$dir"
  [[ $(wc -l <"$dir/stderr") == 1 ]] && grep -q '^poolscope: ' "$dir/stderr" ||
    fail "$name: expected exactly one poolscope line on stderr, got: $(cat "$dir/stderr")"
  echo "ok: $name: $(cat "$dir/stderr")"
}

case $case_name in
  unwritable)
    touch "$WORK/regular-file"
    templates=(/proc/nope/%p.trace "$WORK/regular-file/%p.trace")
    if try_mount "$WORK/ro" ro,size=64k; then
      templates+=("$WORK/ro/%p.trace")
    else
      echo "note: cannot mount a read-only tmpfs here (not root?); the read-only directory case is left out"
    fi
    i=0
    for template in "${templates[@]}"; do
      i=$((i + 1))
      (cd "$WORK" && POOLSCOPE_OUTPUT=$template run_captured "$WORK/bad$i" traced "$prog" "$steps")
      expect_one_line "POOLSCOPE_OUTPUT=$template" "$WORK/bad$i"
    done
    [[ -z $(ls "$WORK/ro" 2>/dev/null) ]] || fail "files appeared in the read-only directory"
    ;;
  cli)
    run_captured "$WORK/cli" "$CLI" run --engine "$ENGINE" -o '/proc/nope/%p.trace' -- "$prog" "$steps"
    expect_like_plain "poolscope run -o /proc/nope/%p.trace" "$WORK/cli"
    cat "$WORK/cli/stderr"
    [[ $(grep -c '^poolscope: cannot create the trace' "$WORK/cli/stderr") == 1 ]] ||
      fail "expected the library's one line about the trace, got: $(cat "$WORK/cli/stderr")"
    ! grep -q 'traces\? written' "$WORK/cli/stderr" ||
      fail "poolscope run says a trace was written, yet none could be: $(grep 'written' "$WORK/cli/stderr")"
    ;;
  full-disk)
    try_mount "$WORK/small" size=256k ||
      skip "cannot mount a 256 KiB tmpfs here (mounting needs root / CAP_SYS_ADMIN)"
    POOLSCOPE_OUTPUT=$WORK/small/full.trace run_captured "$WORK/full" traced "$prog" "$steps"
    expect_one_line "trace on a full disk" "$WORK/full"
    grep -q "No space left on device" "$WORK/full/stderr" || fail "the line does not say the disk is full"
    trace=$WORK/small/full.trace
    echo "partial trace: $(stat -c %s "$trace") bytes; filesystem: $(df -k --output=avail "$WORK/small" | tail -1) KiB left"
    probe_facts "$trace" "$WORK/facts"
    grep -E '^(frames|truncated|corrupt_frames|alloc_records)=' "$WORK/facts"
    expect_fact "$WORK/facts" corrupt_frames 0 "the partial trace"
    expect_fact "$WORK/facts" process_records 1 "the partial trace"
    expect_fact "$WORK/facts" end_records 0 "the partial trace"
    pid=$(fact "$WORK/facts" pid)
    ((pid > 0)) || fail "the partial trace has no Process record"
    (($(fact "$WORK/facts" alloc_records) > 1000)) || fail "the partial trace holds almost no events"
    "$CLI" report "$trace" >"$WORK/report" || fail "poolscope report cannot read the partial trace"
    ;;
  *) fail "unknown case $case_name" ;;
esac
