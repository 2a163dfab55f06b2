#!/bin/bash
# Guards: pthread_cancel under the library. Cancellation unwinds the victim with a forced
# unwind through glibc's lazily dlopened libgcc_s (allocating from inside glibc), runs a
# cleanup handler that allocates, then a C++ destructor that frees: the library must not
# disturb the unwinder or the allocations made on that path. 60 threads blocked in read(),
# nanosleep() and pthread_cond_wait() are cancelled; output must match the plain run.
source "$(dirname "$0")/../harness.sh"

prog=$1

compare_runs cancel timeout -k 5 40 "$prog"
expected=$(cat "$(dirname "$0")/cancel.expected")
[[ $(cat "$WORK/cancel.plain/stdout") == "$expected" ]] ||
  fail "plain run: $(cat "$WORK/cancel.plain/stdout") (status $(cat "$WORK/cancel.plain/status"))"
