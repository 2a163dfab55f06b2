#!/bin/bash
# Guards: fork from a signal handler while malloc holds a lock (DESIGN.md, "fork": the atfork
# prepare handler must try-lock with a fallback, src/interpose/runtime.cc PrepareFork and each
# engine's ForkPrepare). A SIGALRM handler firing every 50-250 µs forks 1000 times out of a
# malloc/realloc/free loop; a deadlock shows up as the timeout (status 124 differs from plain).
source "$(dirname "$0")/../harness.sh"

prog=$1

compare_runs fork_signal timeout -k 5 20 "$prog"
expected="forks from the handler: 1000, children reaped with status 7: 1000, fork failures: 0, corrupted blocks: 0"
[[ $(cat "$WORK/fork_signal.plain/stdout") == "$expected" ]] ||
  fail "plain run: $(cat "$WORK/fork_signal.plain/stdout") (status $(cat "$WORK/fork_signal.plain/status"))"
