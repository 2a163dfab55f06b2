#!/usr/bin/env bash
# bash runs a script exercising arrays, associative arrays, string operations, subshells,
# command substitution, here-documents and functions; output identical with and without the
# library.
source "$(dirname "$0")/../harness.sh"

here=$(cd "$(dirname "$0")" && pwd)
export LC_ALL=C TZ=UTC
compare_runs bash /usr/bin/bash --norc --noprofile "$here/workload.bash"

out="$WORK/bash.plain/stdout"
[[ $(cat "$WORK/bash.plain/status") == 0 ]] || fail "bash workload exited $(cat "$WORK/bash.plain/status")"
grep -qx 'done: all checks passed' "$out" || fail "bash workload did not finish its checks"
[[ -s "$WORK/bash.plain/files/report.txt" ]] || fail "bash workload wrote no report.txt"
