#!/bin/bash
# Guards: fork in a multi-threaded process (the engine's pthread_atfork handlers in
# src/interpose/runtime.cc and each engine's ForkPrepare/ForkParent/ForkChild). Four threads
# allocate and free continuously while the main thread forks 200 times; each child allocates
# (and starts a thread that allocates) and must exit 0. A deadlock shows up as the timeout.
source "$(dirname "$0")/../harness.sh"

prog=$1

compare_runs fork_threads timeout -k 5 30 "$prog"
expected="forks: 200, children exited 0: 200, fork failures: 0, thread errors: 0"
[[ $(cat "$WORK/fork_threads.plain/stdout") == "$expected" ]] ||
  fail "plain run: $(cat "$WORK/fork_threads.plain/stdout") (status $(cat "$WORK/fork_threads.plain/status"))"
