#!/bin/bash
# Issue 5, "Done when": a program that closes all its fds and dup2s over them keeps its files
# clean. DESIGN.md: the trace fd lives high and is checked (device and inode) before writing.
#
# fd_hygiene.c closes every fd after its first allocations, then owns fds 0..1023 (4 files,
# dup2'd over the rest, over the trace fd too) and writes one line to each. Run twice: with the
# inherited fd limit (the recorder's fd then sits at 1000 and can move above 1023) and with
# `ulimit -n 1024` (it sits at 992, and every fd the process may have is the program's).
# Each time the program must exit 0 with files exactly as without the library (and as
# expected), and the trace must be undamaged with the first phase's 1000 allocations. Recording
# either continued (all 50,000 allocations of each later phase, and an End record) or stopped
# (then nothing may have been written after the program took the fds, and the one line the
# library may print has nowhere to go but the program's files — where it must not be).
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
prog=$1

expected=$WORK/expected
mkdir "$expected"
for j in 0 1 2 3; do
  for ((k = j; k < 1024; k += 4)); do echo "fd $k"; done >"$expected/out$j"
done

mkdir "$WORK/plain"
"$prog" "$WORK/plain" || fail "plain run exited $?"
diff -r "$expected" "$WORK/plain" >/dev/null || fail "the plain run's files are not as expected"

check() {  # check NAME [ulimit -n value]
  local name=$1 limit=${2:-}
  local dir=$WORK/$name trace=$WORK/$name.trace
  mkdir "$dir"
  local status=0
  (
    [[ -z $limit ]] || ulimit -n "$limit"
    POOLSCOPE_OUTPUT=$trace traced "$prog" "$dir"
  ) || status=$?
  [[ $status == 0 ]] || fail "$name: the program exited $status under the library"
  local j
  for j in 0 1 2 3; do
    if ! cmp -s "$expected/out$j" "$dir/out$j"; then
      echo "--- $name: out$j differs from the program's own content:" >&2
      diff <(cat -v "$expected/out$j") <(head -c 4000 "$dir/out$j" | cat -v) | head -20 >&2 || true
      fail "$name: out$j holds bytes the program did not write ($(stat -c %s "$dir/out$j") bytes, expected $(stat -c %s "$expected/out$j"))"
    fi
  done
  echo "ok: $name: the program's 4 files hold exactly its own content"

  probe_facts "$trace" "$WORK/$name.facts"
  expect_fact "$WORK/$name.facts" corrupt_frames 0 "$name"
  expect_fact "$WORK/$name.facts" skipped_bytes 0 "$name"
  expect_fact "$WORK/$name.facts" truncated 0 "$name"
  "$PROBE" sizes "$trace" 7001 7003 >"$WORK/$name.sizes"
  grep -qx "7001 1000 1000 1" "$WORK/$name.sizes" || fail "$name: before the fds were taken: $(cat "$WORK/$name.sizes")"
  if [[ $(cat "$WORK/$name.sizes") == $'7001 1000 1000 1\n7002 50000 50000 1\n7003 50000 50000 1' ]]; then
    expect_fact "$WORK/$name.facts" end_records 1 "$name"
    expect_fact "$WORK/$name.facts" exit_status 0 "$name"
    echo "ok: $name: recording continued: every allocation of the 3 phases and the End record are in the trace"
  else
    # Stopped: nothing may be recorded after the point it stopped, so the last phase is absent.
    ! grep -q "^7003 " "$WORK/$name.sizes" ||
      fail "$name: events are missing, yet recording went on: $(tr '\n' ';' <"$WORK/$name.sizes")"
    echo "ok: $name: recording stopped when the program took the fds ($(tr '\n' ';' <"$WORK/$name.sizes"))"
  fi
}

check inherited-limit
check fd-limit-1024 1024
