#!/usr/bin/env bash
# Our C++ program (cross_thread.cc): 16 threads pass blocks to each other through queues, so
# almost every block is freed by another thread, using every form of operator new and delete
# (plain, array, nothrow, aligned 32..4096, sized). Output identical plain and preloaded; and
# under the library every new and delete reaches it.
source "$(dirname "$0")/../harness.sh"

bin=$(realpath "${1:?usage: cxx_threads.sh PATH-OF-cross_thread}")
compare_runs cxx-threads "$bin"

plain="$WORK/cxx-threads.plain"
[[ $(cat "$plain/status") == 0 ]] || fail "cross_thread exited $(cat "$plain/status")"
[[ $(grep -c '^thread [ 0-9]*: received 45000 checksum [0-9a-f]\{16\}$' "$plain/stdout") == 16 ]] ||
  fail "cross_thread: not every thread received its 45000 blocks"
grep -q '^received 720000 misaligned 0 corrupted 0 total [0-9a-f]\{16\}$' "$plain/stdout" ||
  fail "cross_thread: misaligned or corrupted blocks: $(tail -1 "$plain/stdout")"

# The same run with counting on: 720,000 blocks and 720,000 messages were allocated with new
# and released with delete, all through the library.
POOLSCOPE_STATS=1 preloaded "$bin" >"$WORK/counted.out" 2>"$WORK/counted.err" ||
  fail "cross_thread failed with POOLSCOPE_STATS=1: $(head -5 "$WORK/counted.err")"
cmp -s "$WORK/counted.out" "$plain/stdout" || fail "output changed with POOLSCOPE_STATS=1"
line=$(grep "^poolscope: stats pid [0-9]* engine $POOLSCOPE_TEST_ENGINE: " "$WORK/counted.err") ||
  fail "no stats line for engine $POOLSCOPE_TEST_ENGINE: $(cat "$WORK/counted.err")"
new=$(sed -n 's/.* new \([0-9]*\) delete .*/\1/p' <<<"$line")
delete=$(sed -n 's/.* delete \([0-9]*\) bootstrap .*/\1/p' <<<"$line")
((new >= 1440000)) || fail "only $new operator new calls counted: $line"
((new == delete)) || fail "operator new $new and delete $delete calls differ: $line"
echo "ok: $line"
