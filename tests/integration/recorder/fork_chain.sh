#!/bin/bash
# Issue 5, "Done when": a fork+exec chain yields exactly one trace per process image, none
# duplicated or interleaved, with matching event counts.
#
# fork_chain.c makes 8 images over 5 pids with fork, fork without exec, execv/execvp/execl from
# the first image and from a forked child, posix_spawn and _exit/exit/return endings; image I
# allocates 100+10*I blocks of 10000+100*I bytes (all freed but one) and logs its pid and ppid.
# Under `poolscope run -o DIR/%p.trace`, DIR must hold exactly one file per image: PID.trace for
# a pid's first image, PID.trace.N for its N-th exec. Each file must hold exactly one Process
# record, naming that pid, exec generation N and the logged parent; among the distinctive sizes
# exactly its own image's size, with exactly its counts of allocations and frees; be undamaged;
# and, for images that end rather than exec, end with an End record of status 0.
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
prog=$1

mkdir "$WORK/traces"
log=$WORK/images.log
run_captured "$WORK/run" "$CLI" run --engine "$ENGINE" -o "$WORK/traces/%p.trace" -- "$prog" "$log" 0
[[ $(cat "$WORK/run/status") == 0 ]] || fail "the chain exited $(cat "$WORK/run/status"): $(cat "$WORK/run/stderr")"
sort -k2n "$log"
[[ $(wc -l <"$log") == 8 ]] || fail "expected 8 images in the log, found $(wc -l <"$log")"

declare -A expected_file
# Which exec generation each image is within its pid.
declare -A generation=([0]=0 [1]=1 [2]=0 [3]=1 [4]=0 [5]=0 [6]=0 [7]=1)
declare -A ends=([0]=0 [1]=1 [2]=0 [3]=1 [4]=1 [5]=0 [6]=1 [7]=1)
while read -r _ image _ pid _ ppid; do
  name=$pid.trace
  ((generation[$image] == 0)) || name+=.${generation[$image]}
  [[ -z ${expected_file[$name]:-} ]] || fail "images ${expected_file[$name]} and $image both map to $name"
  expected_file[$name]="$image $pid $ppid"
done <"$log"

ls "$WORK/traces" >"$WORK/files"
echo "trace files: $(tr '\n' ' ' <"$WORK/files")"
[[ $(wc -l <"$WORK/files") == 8 ]] || fail "expected 8 trace files (one per image), found $(wc -l <"$WORK/files")"
for name in "${!expected_file[@]}"; do
  [[ -f $WORK/traces/$name ]] || fail "no trace $name for image ${expected_file[$name]%% *}"
done

for name in "${!expected_file[@]}"; do
  read -r image pid ppid <<<"${expected_file[$name]}"
  t=$WORK/traces/$name
  what="image $image ($name)"
  probe_facts "$t" "$WORK/facts.$name"
  expect_fact "$WORK/facts.$name" process_records 1 "$what"
  expect_fact "$WORK/facts.$name" pid "$pid" "$what"
  expect_fact "$WORK/facts.$name" parent_pid "$ppid" "$what"
  expect_fact "$WORK/facts.$name" exec_generation "${generation[$image]}" "$what"
  expect_fact "$WORK/facts.$name" corrupt_frames 0 "$what"
  expect_fact "$WORK/facts.$name" truncated 0 "$what"
  expect_fact "$WORK/facts.$name" engine "$ENGINE" "$what"
  # A forked child names stacks its parent saw first: its own file must define them again.
  expect_fact "$WORK/facts.$name" unresolved_stacks 0 "$what"
  if ((ends[$image])); then
    expect_fact "$WORK/facts.$name" end_records 1 "$what"
    expect_fact "$WORK/facts.$name" exit_status 0 "$what"
  fi
  "$PROBE" sizes "$t" 10000 10999 >"$WORK/sizes.$name"
  want="$((10000 + 100 * image)) $((100 + 10 * image)) $((99 + 10 * image)) 1"
  [[ $(cat "$WORK/sizes.$name") == "$want" ]] ||
    fail "$what: distinctive sizes (size allocs frees threads) are '$(tr '\n' ';' <"$WORK/sizes.$name")', expected '$want'"
  echo "ok: $what: pid $pid, parent $ppid, exec generation ${generation[$image]}, $(cat "$WORK/sizes.$name"), end records $(fact "$WORK/facts.$name" end_records)"
done
