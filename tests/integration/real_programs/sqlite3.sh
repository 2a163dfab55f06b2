#!/usr/bin/env bash
# sqlite3 inserts 200,000 rows into a database file, indexes them and runs aggregates, joins and
# window functions; output and the database file must be identical with and without the library.
source "$(dirname "$0")/../harness.sh"

here=$(cd "$(dirname "$0")" && pwd)
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
export LC_ALL=C TZ=UTC HOME="$WORK/home" # no ~/.sqliterc
mkdir -p "$HOME"

compare_runs sqlite3 sqlite3 -bail -batch orders.db ".read $here/workload.sql"

plain="$WORK/sqlite3.plain"
[[ $(cat "$plain/status") == 0 ]] || fail "sqlite3 exited $(cat "$plain/status"): $(head -5 "$plain/stderr")"
grep -q '^rows|200000|' "$plain/stdout" || fail "sqlite3 did not insert 200000 rows"
grep -qx ok "$plain/stdout" || fail "sqlite3 integrity check did not pass"
grep -q ' \./orders\.db$' "$plain/files.sha256" || fail "sqlite3 wrote no database file"
