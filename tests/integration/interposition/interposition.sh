#!/usr/bin/env bash
# Proof that interposition is real: interpose_counts makes an exact number of calls to each
# allocation entry point (malloc, calloc, realloc, the aligned family, free, every operator new
# and delete), single-threaded and then from 4 threads at once, and reads the library's counters
# around them through poolscope_get_stats. The counters must move by exactly those numbers.
#
#   interposition.sh direct PROG   LD_PRELOAD set here, plus the runs without the library
#                                  and without POOLSCOPE_STATS
#   interposition.sh cli PROG      the same through `poolscope run --stats --engine ENGINE`
source "$(dirname "$0")/../harness.sh"

mode=${1:?usage: interposition.sh direct|cli PROG}
bin=$(realpath "${2:?usage: interposition.sh direct|cli PROG}")
engine=$POOLSCOPE_TEST_ENGINE
unset POOLSCOPE_STATS POOLSCOPE_ENGINE

# What interpose_counts does, restated here so that a change to the program cannot make a
# wrong count agree with itself.
single="malloc 1003 calloc 301 realloc 260 aligned 100 free 1415 new 82 delete 83 failed 6 bootstrap 0"
threaded="malloc 2000 calloc 2000 realloc 2000 aligned 0 free 4000 new 4000 delete 4000 failed 0 bootstrap 0"

# run_counted NAME CMD...: runs CMD (which must enable counting), checks the deltas it prints and
# the stats line the library prints at exit.
run_counted() {
  local name=$1
  shift
  local out="$WORK/$name.out" err="$WORK/$name.err" rc=0
  "$@" >"$out" 2>"$err" || rc=$?
  ((rc == 0)) || fail "$name: exited $rc: $(cat "$out" "$err" | head -5)"
  grep -qx "api present, engine $engine, pid [0-9]*" "$out" ||
    fail "$name: the API does not report engine $engine: $(head -1 "$out")"
  grep -qx "expect $single" "$out" || fail "$name: interpose_counts changed its workload: $(grep '^expect' "$out")"
  grep -qx "threads-expect $threaded" "$out" || fail "$name: threaded workload changed"
  grep -qx "actual $single" "$out" ||
    fail "$name: counters moved by   $(sed -n 's/^actual //p' "$out"); expected $single"
  grep -qx "threads-actual $threaded" "$out" ||
    fail "$name: with 4 threads, counters moved by $(sed -n 's/^threads-actual //p' "$out"); expected $threaded"
  grep -qx "misaligned 0" "$out" || fail "$name: $(grep misaligned "$out") aligned blocks"

  # At exit: "poolscope: stats pid PID engine ENGINE: malloc N calloc N ..." for this very process,
  # covering at least the calls counted above.
  local pid line
  pid=$(sed -n 's/^api present, engine [a-z]*, pid \([0-9]*\)$/\1/p' "$out")
  line=$(grep "^poolscope: stats pid $pid engine $engine: malloc [0-9]* calloc " "$err") ||
    fail "$name: no stats line for pid $pid, engine $engine, on stderr: $(head -5 "$err")"
  local -A total
  local key value
  read -r -a fields <<<"${line#*: malloc }"
  fields=(malloc "${fields[@]}")
  while ((${#fields[@]} >= 2)); do
    key=${fields[0]} value=${fields[1]}
    [[ $value =~ ^[0-9]+$ ]] && total[$key]=$value
    fields=("${fields[@]:2}")
  done
  ((${total[malloc]:-0} >= 3003)) || fail "$name: stats line counts ${total[malloc]:-no} mallocs, fewer than the program made: $line"
  ((${total[calloc]:-0} >= 2301)) || fail "$name: stats line undercounts calloc: $line"
  ((${total[realloc]:-0} >= 2260)) || fail "$name: stats line undercounts realloc: $line"
  ((${total[aligned]:-0} >= 100)) || fail "$name: stats line undercounts aligned: $line"
  ((${total[free]:-0} >= 5415)) || fail "$name: stats line undercounts free: $line"
  ((${total[new]:-0} >= 4082)) || fail "$name: stats line undercounts new: $line"
  ((${total[delete]:-0} >= 4083)) || fail "$name: stats line undercounts delete: $line"
  [[ ${total[failed]:-} == 6 ]] || fail "$name: stats line reports ${total[failed]:-no} failed allocations, not 6: $line"
  echo "ok: $name: exact deltas; $line"
}

case $mode in
direct)
  # Without the library the program must not find the API at all.
  rc=0
  POOLSCOPE_STATS=1 "$bin" >"$WORK/plain.out" 2>"$WORK/plain.err" || rc=$?
  ((rc == 3)) || fail "without the library: exit $rc, expected 3: $(cat "$WORK/plain.out")"
  grep -qx "api missing: poolscope_get_stats not found" "$WORK/plain.out" ||
    fail "without the library the API was found: $(cat "$WORK/plain.out")"
  [[ ! -s "$WORK/plain.err" ]] || fail "without the library something wrote to stderr: $(cat "$WORK/plain.err")"
  echo "ok: without the library, poolscope_get_stats is missing"

  # Preloaded with counting off: the API answers -1 and no stats line is printed.
  rc=0
  preloaded "$bin" >"$WORK/off.out" 2>"$WORK/off.err" || rc=$?
  ((rc == 4)) || fail "POOLSCOPE_STATS unset: exit $rc, expected 4: $(cat "$WORK/off.out")"
  grep -qx "api present, counting off" "$WORK/off.out" || fail "POOLSCOPE_STATS unset: $(cat "$WORK/off.out")"
  ! grep -q 'poolscope: stats' "$WORK/off.err" || fail "stats line printed with counting off"
  echo "ok: preloaded without POOLSCOPE_STATS, counting is off"

  POOLSCOPE_STATS=1 run_counted direct preloaded "$bin"
  ;;
cli)
  cli=${POOLSCOPE_TEST_CLI:?run through meson test}
  # The CLI turns counting on itself; POOLSCOPE_LIB pins it to the library under test. No
  # trace: the recorder's own unwinder allocates, which would move the exact counts.
  POOLSCOPE_LIB="$POOLSCOPE_TEST_LIB" run_counted cli "$cli" run --stats --trace off --engine "$engine" -- "$bin"

  # Without --stats the CLI leaves counting off, and passes the program's exit status through.
  rc=0
  POOLSCOPE_LIB="$POOLSCOPE_TEST_LIB" "$cli" run --trace off --engine "$engine" -- "$bin" >"$WORK/cli-off.out" 2>"$WORK/cli-off.err" || rc=$?
  ((rc == 4)) || fail "poolscope run without --stats: exit $rc, expected 4: $(cat "$WORK/cli-off.out" "$WORK/cli-off.err")"
  grep -qx "api present, counting off" "$WORK/cli-off.out" || fail "poolscope run without --stats: $(cat "$WORK/cli-off.out")"
  echo "ok: poolscope run without --stats leaves counting off"
  ;;
*) fail "unknown mode $mode" ;;
esac
