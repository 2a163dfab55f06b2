#!/bin/bash
# Guards: re-entrance of malloc/free from a signal handler (src/interpose/*: the entry points,
# lazy initialisation and call counting; the engine's nested-call path and its locks, e.g.
# src/engine/pool/pool_engine.cc AllocateNested/FreeNested and common/spinlock.h). A SIGALRM
# handler firing every 100 µs mallocs and frees 5000 times while the main thread mallocs,
# callocs and frees blocks up to 600 KB; every block's contents are verified. A deadlock shows
# up as the timeout. The preloaded program runs three times (with and without
# POOLSCOPE_STATS), since where the signals land differs from run to run.
source "$(dirname "$0")/../harness.sh"

prog=$1

compare_runs signal_alloc timeout -k 5 20 "$prog"
expected="handler calls: 5000, handler errors: 0, corrupted bytes in the main loop: 0, main loop ran: 1"
[[ $(cat "$WORK/signal_alloc.plain/stdout") == "$expected" ]] ||
  fail "plain run: $(cat "$WORK/signal_alloc.plain/stdout") (status $(cat "$WORK/signal_alloc.plain/status"))"

# Again, once without and once with call counting (the counters are updated from the handler).
for stats in 0 1; do
  rc=0
  POOLSCOPE_STATS=$stats preloaded timeout -k 5 20 "$prog" >"$WORK/again.out" 2>"$WORK/again.err" ||
    rc=$?
  [[ $rc == 0 && $(cat "$WORK/again.out") == "$expected" ]] ||
    fail "POOLSCOPE_STATS=$stats: status $rc (124: deadlock), $(cat "$WORK/again.out" "$WORK/again.err")"
  if [[ $stats == 1 ]]; then
    grep -q "^poolscope: stats pid [0-9]* engine $POOLSCOPE_TEST_ENGINE: " "$WORK/again.err" ||
      fail "no stats line: $(cat "$WORK/again.err")"
  fi
done
