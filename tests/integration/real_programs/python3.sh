#!/usr/bin/env bash
# Debian's python3 runs an allocation-heavy script (dicts, strings, lists, objects) on 8 threads;
# its output must be the same with and without the library.
source "$(dirname "$0")/../harness.sh"

here=$(cd "$(dirname "$0")" && pwd)
[[ -x $PYTHON ]] || skip "$PYTHON is not installed"

export PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 LC_ALL=C TZ=UTC
compare_runs python3 "$PYTHON" -s "$here/workload.py"

# The run must have done real work: one line per thread and a combined digest.
out="$WORK/python3.plain/stdout"
[[ $(cat "$WORK/python3.plain/status") == 0 ]] || fail "python3 exited $(cat "$WORK/python3.plain/status")"
[[ $(grep -c '^thread [0-7]: [0-9a-f]\{64\} ' "$out") == 8 ]] || fail "python3: expected 8 thread lines"
grep -q '^combined [0-9a-f]\{64\}$' "$out" || fail "python3: no combined digest"
