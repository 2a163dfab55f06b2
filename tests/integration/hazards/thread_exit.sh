#!/bin/bash
# Guards: allocation during thread exit (DESIGN.md, "Thread exit": after the engine's key
# destructor gives a thread's heap away, later destructors may still allocate and free, and the
# thread falls back to the sentinel heap and re-initialises). pthread key destructors that
# free, malloc, realloc and calloc over four rounds, C++ thread_local destructors that allocate,
# and blocks freed by main after the thread that allocated them exited; 8 x 64 threads.
source "$(dirname "$0")/../harness.sh"

prog=$1

compare_runs thread_exit timeout -k 5 40 "$prog"
# 512 threads; each key destructor runs kKeyRounds = 4 times per thread.
expected="threads: 512, key destructor calls: 2048, thread_local destructors: 512, handed-over blocks intact: 512, errors: 0"
[[ $(cat "$WORK/thread_exit.plain/stdout") == "$expected" ]] ||
  fail "plain run: $(cat "$WORK/thread_exit.plain/stdout") (status $(cat "$WORK/thread_exit.plain/status"))"
