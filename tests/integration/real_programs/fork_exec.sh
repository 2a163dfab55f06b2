#!/usr/bin/env bash
# Our C program (fork_exec.c): a chain of 17 processes, each with 3 threads allocating while it
# forks and execs /bin/true, posix_spawns /bin/true, forks a child that allocates without exec,
# and execs itself one level deeper: 50 execs. Output identical plain and preloaded, and the
# library must follow every exec and spawn.
source "$(dirname "$0")/../harness.sh"

bin=$(realpath "${1:?usage: fork_exec.sh PATH-OF-fork_exec}")
compare_runs fork-exec "$bin" 0 16

plain="$WORK/fork-exec.plain"
[[ $(cat "$plain/status") == 0 ]] || fail "fork_exec exited $(cat "$plain/status"): $(tail -3 "$plain/stdout")"
for d in $(seq 0 16); do
  grep -qx "depth $d: start" "$plain/stdout" || fail "depth $d never started"
  grep -q "^depth $d: forked child checksum [0-9a-f]\{16\}$" "$plain/stdout" || fail "depth $d: no forked child"
  grep -q "^depth $d: true 0 spawn 0 fork 0 exec 0 workers ok checksum [0-9a-f]\{16\}$" "$plain/stdout" ||
    fail "depth $d did not finish cleanly"
done
[[ $(wc -l <"$plain/stdout") == 51 ]] || fail "fork_exec printed $(wc -l <"$plain/stdout") lines, not 51"

# Every process that exits normally prints its stats line when counting is on: 17 fork_exec
# processes, 17 exec'd and 17 spawned /bin/true. The forked children leave with _exit.
POOLSCOPE_STATS=1 preloaded "$bin" 0 16 >"$WORK/counted.out" 2>"$WORK/counted.err" ||
  fail "fork_exec failed with POOLSCOPE_STATS=1"
cmp -s "$WORK/counted.out" "$plain/stdout" || fail "output changed with POOLSCOPE_STATS=1"
lines=$(grep -c "^poolscope: stats pid [0-9]* engine $POOLSCOPE_TEST_ENGINE: malloc " "$WORK/counted.err" || true)
((lines == 51)) || fail "expected 51 stats lines (one per exec'd process), got $lines: $(head -3 "$WORK/counted.err")"
pids=$(sed -n 's/^poolscope: stats pid \([0-9]*\) .*/\1/p' "$WORK/counted.err" | sort -u | wc -l)
((pids == 51)) || fail "stats lines came from $pids distinct processes, not 51"
echo "ok: the library followed all 50 execs and spawns ($lines stats lines)"
