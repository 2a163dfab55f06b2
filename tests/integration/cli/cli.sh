# The CLI's verbs and `poolscope run`'s contract: library discovery, environment, exit statuses
# and signal forwarding (docs/USAGE.md). Usage: cli.sh CASE
source "$(dirname "$0")/../harness.sh"
: "${POOLSCOPE_TEST_CLI:?}"
CLI=$POOLSCOPE_TEST_CLI
cd "$WORK"  # `run` writes traces into the working directory

# expect_status WANT CMD...: runs CMD, saving stdout/stderr in $WORK/out and $WORK/err.
expect_status() {
  local want=$1
  shift
  local rc=0
  "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
  [[ $rc == "$want" ]] || {
    cat "$WORK/out" "$WORK/err" >&2
    fail "'$*' exited $rc, expected $want"
  }
}

expect_in() {  # expect_in FILE TEXT
  grep -qF -- "$2" "$1" || {
    cat "$1" >&2
    fail "expected '$2' in $(basename "$1")"
  }
}

case_help() {
  expect_status 0 "$CLI" --help
  expect_in "$WORK/out" "usage: poolscope VERB"
  expect_in "$WORK/out" "run [--engine NAME]"
  expect_status 0 "$CLI" run --help
  expect_in "$WORK/out" "usage: poolscope run"
  expect_status 2 "$CLI"
  expect_in "$WORK/err" "usage: poolscope VERB"
  expect_status 2 "$CLI" frobnicate
  expect_in "$WORK/err" "unknown verb 'frobnicate'"
}

case_version() {
  expect_status 0 "$CLI" --version
  [[ $(wc -l <"$WORK/out") == 3 ]] || fail "--version prints 3 lines"
  expect_in "$WORK/out" "poolscope 0.1.0"
  expect_in "$WORK/out" "library 0.1.0 ($POOLSCOPE_TEST_LIB)"
  grep -qE '^trace format [0-9]+\.[0-9]+$' "$WORK/out" || fail "no trace-format version"
}

case_exit_codes() {
  expect_status 0 "$CLI" run -- true
  expect_status 7 "$CLI" run -- sh -c 'exit 7'
  expect_status 7 "$CLI" run sh -c 'exit 7'  # "--" is optional before the command
  expect_status $((128 + 11)) "$CLI" run -- sh -c 'kill -SEGV $$'
  expect_status $((128 + 9)) "$CLI" run -- sh -c 'kill -KILL $$'
  expect_status 127 "$CLI" run -- no-such-command-anywhere
  expect_in "$WORK/err" "no-such-command-anywhere: command not found"
  expect_status 127 "$CLI" run -- ./no/such/file
  printf 'not a program' >"$WORK/noexec" && chmod -x "$WORK/noexec"
  expect_status 126 "$CLI" run -- "$WORK/noexec"
  expect_in "$WORK/err" "cannot execute $WORK/noexec: Permission denied"
  printf '\x7fELF garbage' >"$WORK/badelf" && chmod +x "$WORK/badelf"
  expect_status 126 "$CLI" run -- "$WORK/badelf"
  expect_in "$WORK/err" "Exec format error"
  expect_status 126 "$CLI" run -- "$WORK"
  expect_status 125 "$CLI" run --bogus -- true
  expect_in "$WORK/err" "unknown option --bogus"
  expect_status 125 "$CLI" run --engine nope -- true
  expect_in "$WORK/err" "unknown engine 'nope'"
  expect_status 125 "$CLI" run --engine
  expect_status 125 "$CLI" run --
  expect_in "$WORK/err" "no command given"
  POOLSCOPE_LIB=/nonexistent/libpoolscope.so expect_status 125 "$CLI" run -- true
  expect_in "$WORK/err" "POOLSCOPE_LIB=/nonexistent/libpoolscope.so does not exist"
}

case_environment() {
  # The library goes first, always as an absolute path, ahead of what LD_PRELOAD held.
  local other=/lib/x86_64-linux-gnu/libm.so.6
  LD_PRELOAD=$other expect_status 0 "$CLI" run -- printenv LD_PRELOAD
  [[ $(cat "$WORK/out") == "$POOLSCOPE_TEST_LIB:$other" ]] || fail "LD_PRELOAD was $(cat "$WORK/out")"
  (cd "$(dirname "$POOLSCOPE_TEST_LIB")" &&
    POOLSCOPE_LIB=./$(basename "$POOLSCOPE_TEST_LIB") expect_status 0 "$CLI" run -- printenv LD_PRELOAD)
  [[ $(cat "$WORK/out") == "$POOLSCOPE_TEST_LIB" ]] || fail "relative POOLSCOPE_LIB not made absolute"
  POOLSCOPE_ENGINE=bogus expect_status 0 "$CLI" run --engine libc -- printenv POOLSCOPE_ENGINE
  [[ $(cat "$WORK/out") == libc ]] || fail "--engine did not reach the program"
  expect_status 0 "$CLI" run --stats -- printenv POOLSCOPE_STATS
  [[ $(cat "$WORK/out") == 1 ]] || fail "--stats did not reach the program"
  # The program really runs on the library: its counts appear at exit.
  expect_status 0 "$CLI" run --stats -- "$PYTHON" -c 'print(sum(range(10)))'
  expect_in "$WORK/out" "45"
  grep -qE '^poolscope: stats pid [0-9]+ engine pool: malloc [1-9]' "$WORK/err" ||
    fail "no stats line from the preloaded program"
}

# Waits until the program under poolscope has started (it creates $1), then signals poolscope.
signal_and_expect() {
  local sig=$1 want=$2
  shift 2
  rm -f "$WORK/started"
  "$CLI" run -- "$@" >"$WORK/out" 2>"$WORK/err" &
  local pid=$!
  for _ in $(seq 100); do [[ -e $WORK/started ]] && break; sleep 0.05; done
  [[ -e $WORK/started ]] || fail "program did not start"
  kill -"$sig" "$pid"
  local rc=0
  wait "$pid" || rc=$?
  [[ $rc == "$want" ]] || { cat "$WORK/err" >&2; fail "SIG$sig: poolscope exited $rc, expected $want"; }
}

case_signals() {
  # SIGTERM sent to poolscope alone reaches the program, which dies of it: 128+15.
  signal_and_expect TERM 143 sh -c "touch '$WORK/started'; exec sleep 30"
  # A program that handles SIGINT decides its own status.
  signal_and_expect INT 42 "$PYTHON" -c "
import signal, sys, time, pathlib
signal.signal(signal.SIGINT, lambda *a: sys.exit(42))
pathlib.Path('$WORK/started').touch()
time.sleep(30)
sys.exit(1)"
}

case_ignored_preload() {
  printf 'int main(void) { return 3; }\n' >"$WORK/s.c"
  if ! cc -static -o "$WORK/static_prog" "$WORK/s.c" 2>"$WORK/cc.err"; then
    skip "cannot link a static program here: $(head -1 "$WORK/cc.err")"
  fi
  expect_status 3 "$CLI" run -- "$WORK/static_prog"
  expect_in "$WORK/err" "is statically linked and ignores LD_PRELOAD"
  # A dynamic program gets no such line (and, untraced, no summary either).
  expect_status 0 "$CLI" run --trace off -- true
  [[ ! -s $WORK/err ]] || fail "unexpected warning for a dynamic program: $(cat "$WORK/err")"
  if [[ $(id -u) == 0 ]] && id nobody >/dev/null 2>&1; then
    cp /usr/bin/true "$WORK/setuid_prog"
    chown nobody "$WORK/setuid_prog" && chmod 4755 "$WORK/setuid_prog"
    chmod 755 "$WORK"
    expect_status 0 "$CLI" run -- "$WORK/setuid_prog"
    expect_in "$WORK/err" "is set-user/group-ID and ignores LD_PRELOAD"
  else
    echo "note: setuid case not run (needs root and a 'nobody' user)"
  fi
}

# A trace of a real program, for the analysis verbs.
make_trace() {
  "$CLI" run -o "$WORK/t.%p.trace" -- "$PYTHON" -c \
    'x = [str(i) * 10 for i in range(20000)]; print(len(x))' >/dev/null 2>&1 ||
    fail "could not record a trace"
  TRACE=$(ls "$WORK"/t.*.trace | head -1)
}

case_report() {
  make_trace
  expect_status 0 "$CLI" report "$TRACE"
  expect_in "$WORK/out" "sites holding the peak heap"
  expect_in "$WORK/out" "sites allocating most often"
  expect_in "$WORK/out" "python3"
  expect_status 0 "$CLI" report "$TRACE" -o "$WORK/report.txt"
  [[ -s $WORK/report.txt && ! -s $WORK/out ]] || fail "-o did not take the report"
  expect_status 2 "$CLI" report
  expect_status 2 "$CLI" report "$TRACE" --format yaml
  expect_in "$WORK/err" "unknown format 'yaml'"
  printf 'not a trace' >"$WORK/bogus"
  expect_status 2 "$CLI" report "$WORK/bogus"
  [[ $(wc -l <"$WORK/err") == 1 ]] || fail "a bad file must give one line"
  expect_in "$WORK/err" "not a poolscope trace"
  # A trace cut in the middle of a frame is still reported, and says so.
  head -c $(($(stat -c %s "$TRACE") - 7)) "$TRACE" >"$WORK/cut.trace"
  expect_status 0 "$CLI" report "$WORK/cut.trace"
  expect_in "$WORK/out" "TRUNCATED"
}

case_export() {
  make_trace
  expect_status 0 "$CLI" export "$TRACE" --format folded
  local folded_total report_total
  folded_total=$(awk '{ s += $NF } END { print s }' "$WORK/out")
  expect_status 0 "$CLI" export "$TRACE" --format folded --metric allocs -o "$WORK/allocs.folded"
  [[ -s $WORK/allocs.folded ]] || fail "-o wrote nothing"
  "$CLI" report "$TRACE" >"$WORK/report"
  report_total=$(sed -n 's/^calls .* reallocs, \(.*\) allocated$/\1/p' "$WORK/report")
  # The report rounds; compare in KiB.
  [[ $report_total == *KiB* ]] || fail "expected a KiB total, got '$report_total'"
  awk -v f="$folded_total" -v r="${report_total% KiB}" \
    'BEGIN { exit !(f / 1024 - r < 0.1 && r - f / 1024 < 0.1) }' ||
    fail "folded stacks sum to $folded_total bytes, the report says $report_total"
  expect_status 2 "$CLI" export "$TRACE"
  expect_in "$WORK/err" "--format is required"
  expect_status 2 "$CLI" export "$TRACE" --format pprof
}

case_check() {
  make_trace
  expect_status 0 "$CLI" check "$TRACE" --max-peak 1GiB --max-allocs 10M
  expect_in "$WORK/out" "max-peak ok"
  expect_status 1 "$CLI" check "$TRACE" --max-peak 1KiB --max-leaked 1GB --junit "$WORK/j.xml"
  expect_in "$WORK/err" "max-peak exceeded"
  expect_in "$WORK/err" "most from python3"
  expect_in "$WORK/out" "max-leaked ok"
  expect_in "$WORK/j.xml" 'failures="1"'
  printf '# CI budget\nmax-peak = 1KiB\n\nmax-allocs = 10M\n' >"$WORK/budget"
  expect_status 1 "$CLI" check "$TRACE" --budget "$WORK/budget"
  expect_in "$WORK/err" "max-peak exceeded"
  printf 'max-peak: 1KiB\n' >"$WORK/bad-budget"
  expect_status 2 "$CLI" check "$TRACE" --budget "$WORK/bad-budget"
  expect_in "$WORK/err" "bad-budget:1: expected 'name = value'"
  expect_status 2 "$CLI" check "$TRACE" --max-peak 12parsecs
  expect_status 2 "$CLI" check "$TRACE"
  expect_in "$WORK/err" "no budget given"
}

# validate_json FILE...: against docs/report.schema.json with ajv (npm), installed on first use
# into the build tree; the case is skipped, with the reason, when ajv cannot be installed.
validate_json() {
  local here rc=0
  here=$(cd "$(dirname "$0")" && pwd)
  bash "$here/validate_schema.sh" "$POOLSCOPE_TEST_BIN/npm-ajv" \
    "$here/../../../docs/report.schema.json" "$@" >"$WORK/validate" 2>&1 || rc=$?
  [[ $rc == 77 ]] && skip "$(cat "$WORK/validate")"
  [[ $rc == 0 ]] || { cat "$WORK/validate" >&2; fail "the JSON report does not match the schema"; }
  cat "$WORK/validate"
}

case_report_json() {
  make_trace
  expect_status 0 "$CLI" report "$TRACE" --format json -o "$WORK/report.json"
  [[ -s $WORK/report.json && ! -s $WORK/out ]] || fail "-o did not take the JSON report"
  expect_status 0 "$CLI" report "$TRACE" --format json
  cmp -s "$WORK/out" "$WORK/report.json" || fail "stdout and -o differ"
  # The figures agree with each other and with the text report.
  "$CLI" report "$TRACE" >"$WORK/report.txt"
  "$PYTHON" - "$WORK/report.json" "$WORK/report.txt" <<'PY' || fail "JSON report inconsistent"
import json, re, sys
r = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
s = r["summary"]
assert r["schema_version"] == 1
calls = re.search(r"^calls +(\d+) allocations, (\d+) frees, (\d+) reallocs", text, re.M)
assert calls, "no calls line"
assert (s["allocations"], s["frees"], s["reallocations"]) == tuple(map(int, calls.groups())), calls.groups()
assert s["allocations"] > 100 and s["peak_bytes"] > 0 and s["ended"] and s["exit_status"] == 0
assert "python3" in r["process"]["executable"]
events = s["allocations"] + s["reallocations"]
assert sum(b["blocks"] for b in r["size_histogram"]) == events, "size histogram"
assert sum(t["allocations"] for t in r["threads"]) == events, "threads"
assert sum(b["bytes"] for b in r["size_histogram"]) == s["allocated_bytes"]
assert 0 < sum(b["blocks"] for b in r["lifetime_histogram"]) <= s["frees"] + s["reallocations"]
peak = r["top_sites"]["peak"]["sites"]
assert peak and peak[0]["frames"] and peak[0]["frames"][0]["name"], "no named frames"
assert all(b["max"] == 2 * b["min"] - 1 for b in r["size_histogram"] if b["min"] > 0)
print("consistent:", s["allocations"], "allocations,", len(r["size_histogram"]), "size buckets")
PY
  # The text report ends with the histograms, within 100 columns.
  expect_in "$WORK/report.txt" "allocation sizes (blocks by size)"
  expect_in "$WORK/report.txt" "lifetimes (from allocation to free)"
  awk 'length($0) > 100 { print; bad = 1 } END { exit bad }' "$WORK/report.txt" ||
    fail "text report lines over 100 columns"
  # A truncated trace says so in JSON too.
  head -c $(($(stat -c %s "$TRACE") - 7)) "$TRACE" >"$WORK/cut.trace"
  expect_status 0 "$CLI" report "$WORK/cut.trace" --format json -o "$WORK/cut.json"
  expect_in "$WORK/cut.json" '"truncated": true'
  expect_status 2 "$CLI" report "$TRACE" --format yaml
  expect_in "$WORK/err" "unknown format 'yaml' (text, json)"
  validate_json "$WORK/report.json" "$WORK/cut.json"
}

# Two runs of one program with workloads of 1000 and 4000 blocks held, a tenth of them leaked.
make_diff_traces() {
  cat >"$WORK/grow.c" <<'C'
#include <stdlib.h>
#include <string.h>
static void *held[100000];
__attribute__((noinline)) static void *hold(size_t n) { void *p = malloc(n); memset(p, 1, n); return p; }
__attribute__((noinline)) static void *leak(size_t n) { void *p = malloc(n); memset(p, 2, n); return p; }
int main(int argc, char **argv) {
  int n = atoi(argv[1]);
  for (int i = 0; i < n; i++) held[i] = hold(256);
  for (int i = 0; i < n / 10; i++) leak(100);
  for (int i = 0; i < n; i++) free(held[i]);
  return 0;
}
C
  cc -O1 -fno-omit-frame-pointer -o "$WORK/grow" "$WORK/grow.c" 2>"$WORK/cc.err" ||
    skip "cannot compile a test program here: $(head -1 "$WORK/cc.err")"
  "$CLI" run -o "$WORK/base.trace" -- "$WORK/grow" 1000 >/dev/null 2>&1 || fail "run 1000"
  "$CLI" run -o "$WORK/new.trace" -- "$WORK/grow" 4000 >/dev/null 2>&1 || fail "run 4000"
  BASE=$WORK/base.trace NEW=$WORK/new.trace
}

case_diff() {
  make_diff_traces
  expect_status 0 "$CLI" diff "$BASE" "$NEW"
  expect_in "$WORK/out" "sites by impact: "
  # First by impact: the holding site, 250 KiB -> 1000 KiB at the peak, 1000 -> 4000 calls,
  # named by module+offset although the program was loaded at other addresses.
  grep -A1 -m1 '^  *[0-9].* KiB' "$WORK/out" >"$WORK/first"
  expect_in "$WORK/first" "250 KiB  1000 KiB  +750 KiB      1000      4000     +3000       0 B"
  grep -qE '^      at grow\+0x[0-9a-f]+$' "$WORK/first" || { cat "$WORK/out" >&2; fail "site not named"; }
  expect_in "$WORK/out" "100       400      +300  9.77 KiB  39.1 KiB +29.3 KiB"
  awk 'length($0) > 100 { print; bad = 1 } END { exit bad }' "$WORK/out" ||
    fail "diff lines over 100 columns"

  expect_status 1 "$CLI" diff "$BASE" "$NEW" --fail-on peak:+10%
  [[ $(wc -l <"$WORK/err") == 1 ]] || fail "one line per exceeded threshold"
  expect_in "$WORK/err" "peak exceeded: "
  expect_in "$WORK/err" "over peak:+10%; most from grow+0x"
  expect_status 0 "$CLI" diff "$BASE" "$NEW" --fail-on peak:+300% --fail-on allocs:+10k \
    --fail-on=leaked:+1MiB
  expect_in "$WORK/out" "peak ok: "
  expect_in "$WORK/out" "allocs ok: "
  expect_in "$WORK/out" "leaked ok: "
  expect_status 1 "$CLI" diff "$BASE" "$NEW" --fail-on leaked:+1KiB --fail-on allocs:+1000 \
    --fail-on peak:+1GiB
  [[ $(wc -l <"$WORK/err") == 2 ]] || fail "two thresholds exceeded, two lines"
  expect_in "$WORK/err" "leaked exceeded: "
  expect_in "$WORK/err" "allocs exceeded: "
  expect_in "$WORK/out" "peak ok: "
  # Shrinking or staying the same passes any threshold.
  expect_status 0 "$CLI" diff "$NEW" "$BASE" --fail-on peak:+0% --fail-on allocs:+0
  expect_status 0 "$CLI" diff "$BASE" "$BASE" --fail-on temporary:+0 --fail-on peak:+0%
  expect_in "$WORK/out" "0 changed"
  expect_in "$WORK/out" "peak ok: "

  # Bad input: exit 2 with one line.
  local spec
  for spec in rss:+10% peak+10% allocs:+1MiB peak:-5% leaked:+lots; do
    expect_status 2 "$CLI" diff "$BASE" "$NEW" --fail-on "$spec"
    [[ $(wc -l <"$WORK/err") == 1 ]] || fail "--fail-on $spec: one line expected"
    expect_in "$WORK/err" "--fail-on '$spec'"
  done
  expect_status 2 "$CLI" diff "$BASE" "$NEW" --fail-on rss:+10%
  expect_in "$WORK/err" "unknown metric 'rss'"
  expect_status 2 "$CLI" diff "$BASE" "$WORK/no-such.trace"
  [[ $(wc -l <"$WORK/err") == 1 ]] || fail "an unreadable trace must give one line"
  printf 'not a trace' >"$WORK/bogus"
  expect_status 2 "$CLI" diff "$WORK/bogus" "$NEW"
  [[ $(wc -l <"$WORK/err") == 1 ]] || fail "a bad file must give one line"
  expect_in "$WORK/err" "not a poolscope trace"
  expect_status 2 "$CLI" diff "$BASE"
  expect_in "$WORK/err" "two traces needed"
  expect_status 2 "$CLI" diff "$BASE" "$NEW" --fail-on
  expect_status 2 "$CLI" diff "$BASE" "$NEW" --bogus
  expect_in "$WORK/err" "unknown option --bogus"
  expect_status 0 "$CLI" --help
  expect_in "$WORK/out" "diff BASE NEW"
}

"case_${1:?case name}"
echo "ok: cli $1"
