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
  # Every verb answers -h and --help on stdout, with status 0, whatever else is given.
  local verb
  for verb in report export check diff; do
    expect_status 0 "$CLI" "$verb" --help
    expect_in "$WORK/out" "usage: poolscope $verb"
    expect_status 0 "$CLI" "$verb" some.trace -h
    expect_in "$WORK/out" "usage: poolscope $verb"
  done
  expect_in "$WORK/out" "diff BASE NEW"
  expect_status 0 "$CLI" --help
  expect_in "$WORK/out" "report TRACE [--format text|json|html]"
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
  expect_status 2 "$CLI" export "$TRACE" --format svg
  expect_in "$WORK/err" "unknown format 'svg'"
}

case_check() {
  make_trace
  expect_status 0 "$CLI" check "$TRACE" --max-peak 1GiB --max-allocs 10M
  expect_in "$WORK/out" "max-peak ok"
  expect_status 1 "$CLI" check "$TRACE" --max-peak 1KiB --max-leaked 1GB --junit "$WORK/j.xml"
  expect_in "$WORK/err" "max-peak exceeded"
  # The responsible site is named (a function where python's symbol table has one, else
  # module+offset).
  grep -qE 'most from [^ ].*python3' "$WORK/err" || fail "the top site is not named: $(cat "$WORK/err")"
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

# validate_json FILE...: against docs/report.schema.json with ajv (npm); the case is skipped,
# with the reason, when ajv is not installed.
validate_json() {
  npm_modules ajv
  local here
  here=$(dirname "$0")
  node "$here/validate_schema.js" "$NODE_MODULES" "$here/../../../docs/report.schema.json" "$@" \
    >"$WORK/validate" 2>&1 || {
    cat "$WORK/validate" >&2
    fail "the JSON report does not match the schema"
  }
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
assert r["schema_version"] == 3
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
m = r["memory"]
assert m["heap_timeline"] and max(b for t, b in m["heap_timeline"]) == s["peak_bytes"], "heap timeline"
if m["samples"]:
    assert m["peak_rss_bytes"] == max(x["rss_bytes"] for x in m["samples"]), "peak RSS"
    rss = re.search(r"^peak RSS +", text, re.M)
    assert rss, "no peak RSS line"
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
  expect_in "$WORK/err" "unknown format 'yaml' (text, json, html)"
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
  # named by its function (from the symbol table) although the program was loaded elsewhere.
  grep -A1 -m1 '^  *[0-9].* KiB' "$WORK/out" >"$WORK/first"
  expect_in "$WORK/first" "250 KiB  1000 KiB  +750 KiB      1000      4000     +3000       0 B"
  grep -qE '^      at hold$' "$WORK/first" || { cat "$WORK/out" >&2; fail "site not named"; }
  expect_in "$WORK/out" "100       400      +300  9.77 KiB  39.1 KiB +29.3 KiB"
  awk 'length($0) > 100 { print; bad = 1 } END { exit bad }' "$WORK/out" ||
    fail "diff lines over 100 columns"

  expect_status 1 "$CLI" diff "$BASE" "$NEW" --fail-on peak:+10%
  [[ $(wc -l <"$WORK/err") == 1 ]] || fail "one line per exceeded threshold"
  expect_in "$WORK/err" "peak exceeded: "
  expect_in "$WORK/err" "over peak:+10%; most from hold (+"
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

# --- export formats, each read back by a consumer that is not ours ---------------------------

# npm_modules PACKAGE...: sets NODE_MODULES to the pinned npm packages scripts/setup.sh
# installs into the checkout's .npm-deps; skips the case, with the reason, when one is missing.
npm_modules() {
  [[ -x /usr/bin/node ]] || skip "no /usr/bin/node on this machine"
  NODE_MODULES=$(cd "$(dirname "$0")/../../.." && pwd)/.npm-deps/node_modules
  local p
  for p in "$@"; do
    [[ -f $NODE_MODULES/$p/package.json ]] ||
      skip "the npm package $p is not in $NODE_MODULES (scripts/setup.sh installs it)"
  done
}

# The text report's figures (R_*) and the exact sums of the folded export (F_*).
export_totals() {
  "$CLI" report "$TRACE" >"$WORK/report" || fail "report failed"
  local line
  line=$(grep '^calls ' "$WORK/report") || fail "no calls line"
  R_ALLOCS=$(sed -n 's/^calls *\([0-9]*\) allocations, .*/\1/p' <<<"$line")
  R_REALLOCS=$(sed -n 's/.* \([0-9]*\) reallocs, .*/\1/p' <<<"$line")
  R_ALLOCATED=$(sed -n 's/.* reallocs, \(.*\) allocated$/\1/p' <<<"$line")
  R_PEAK=$(sed -n 's/^peak heap *\(.*\) at .*/\1/p' "$WORK/report")
  R_LEAKED=$(sed -n 's/^leaked *\(.*\) in [0-9]* blocks$/\1/p' "$WORK/report")
  R_LEAKED_BLOCKS=$(sed -n 's/^leaked .* in \([0-9]*\) blocks$/\1/p' "$WORK/report")
  [[ -n $R_ALLOCS && -n $R_REALLOCS && -n $R_ALLOCATED && -n $R_PEAK && -n $R_LEAKED ]] ||
    { cat "$WORK/report" >&2; fail "cannot read the report's totals"; }
  local metric
  for metric in allocated allocs peak leaked; do
    "$CLI" export "$TRACE" --format folded --metric $metric >"$WORK/folded.$metric" ||
      fail "folded export failed"
  done
  F_ALLOCATED=$(awk '{ s += $NF } END { print s + 0 }' "$WORK/folded.allocated")
  F_ALLOCS=$(awk '{ s += $NF } END { print s + 0 }' "$WORK/folded.allocs")
  F_PEAK=$(awk '{ s += $NF } END { print s + 0 }' "$WORK/folded.peak")
  F_LEAKED=$(awk '{ s += $NF } END { print s + 0 }' "$WORK/folded.leaked")
  # Sites count reallocations among their allocations.
  [[ $F_ALLOCS == $((R_ALLOCS + R_REALLOCS)) ]] ||
    fail "folded allocations $F_ALLOCS != $R_ALLOCS allocations + $R_REALLOCS reallocs"
  near "$F_ALLOCATED" "$R_ALLOCATED" "allocated bytes (folded)"
  near "$F_PEAK" "$R_PEAK" "peak bytes (folded)"
  near "$F_LEAKED" "$R_LEAKED" "leaked bytes (folded)"
}

# near BYTES HUMAN WHAT: fails unless BYTES, rounded as the report rounds, reads HUMAN ("1.5 KiB").
near() {
  "$PYTHON" - "$1" "$2" <<'PY' || fail "$3: $1 bytes, but the report says '$2'"
import sys
n = int(sys.argv[1])
value, unit = sys.argv[2].split()
scale = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}[unit]
decimals = len(value.split(".")[1]) if "." in value else 0
sys.exit(0 if abs(n / scale - float(value)) <= 0.5 * 10**-decimals + 1e-9 else 1)
PY
}

case_export_pprof() {
  npm_modules pprof-format
  make_trace
  export_totals
  expect_status 0 "$CLI" export "$TRACE" --format pprof -o "$WORK/heap.pb.gz"
  expect_status 0 "$CLI" export "$TRACE" --format pprof
  cmp -s "$WORK/out" "$WORK/heap.pb.gz" || fail "pprof on stdout and with -o differ"
  [[ $(head -c 2 "$WORK/heap.pb.gz" | od -An -tx1 | tr -d ' ') == 1f8b ]] || fail "not gzip"
  node "$(dirname "$0")/read_pprof.js" "$NODE_MODULES" "$WORK/heap.pb.gz" >"$WORK/pprof.json" ||
    fail "pprof-format could not read the profile"
  cat "$WORK/pprof.json"
  "$PYTHON" - "$WORK/pprof.json" "$F_ALLOCS" "$F_ALLOCATED" "$R_LEAKED_BLOCKS" "$F_LEAKED" <<'PY' ||
import json, sys
p = json.load(open(sys.argv[1]))
want = [int(v) for v in sys.argv[2:]]
assert p["types"] == ["alloc_objects/count", "alloc_space/bytes", "inuse_objects/count",
                      "inuse_space/bytes"], p["types"]
assert p["totals"] == want, (p["totals"], want)
assert p["samples"] > 10 and p["locations"] > 10 and p["mappings"] > 1, p
assert p["period_type"] == "space/bytes"
PY
    fail "the profile's totals differ from the report's"
  near "$(sed 's/.*"totals":\[[0-9]*,\([0-9]*\).*/\1/' "$WORK/pprof.json")" "$R_ALLOCATED" \
    "pprof alloc_space"
  expect_status 2 "$CLI" export "$TRACE" --format pprof --metric peak
  expect_in "$WORK/err" "--metric is for --format folded"
}

case_export_speedscope() {
  npm_modules speedscope ajv
  make_trace
  export_totals
  expect_status 0 "$CLI" export "$TRACE" --format speedscope -o "$WORK/s.speedscope.json"
  node "$(dirname "$0")/validate_speedscope.js" "$NODE_MODULES" "$WORK/s.speedscope.json" \
    >"$WORK/ends.json" || fail "the speedscope file is not valid"
  cat "$WORK/ends.json"
  local want
  want="{\"allocated bytes\":$F_ALLOCATED,\"allocations\":$F_ALLOCS,\"heap at the peak\":$F_PEAK"
  want+=",\"leaked bytes\":$F_LEAKED}"
  [[ $(cat "$WORK/ends.json") == "$want" ]] || fail "profile totals differ: want $want"
}

# A trace with phase marks, and long enough for the recorder's memory samples (every 250 ms).
make_marked_trace() {
  "$CLI" run -o "$WORK/m.%p.trace" -- "$PYTHON" -c '
import ctypes, time
mark = ctypes.CDLL(None).poolscope_mark
mark(b"start")
x = [str(i) * 10 for i in range(20000)]
mark(b"built")
time.sleep(0.6)
del x
mark(b"done")' >/dev/null 2>&1 || fail "could not record a trace"
  TRACE=$(ls "$WORK"/m.*.trace | head -1)
}

case_export_chrome() {
  make_marked_trace
  export_totals
  expect_status 0 "$CLI" export "$TRACE" --format chrome -o "$WORK/trace.json"
  "$PYTHON" - "$WORK/trace.json" "$F_PEAK" "$F_LEAKED" <<'PY' || fail "bad chrome trace"
import json, sys
doc = json.load(open(sys.argv[1]))
peak, leaked = int(sys.argv[2]), int(sys.argv[3])
events = doc["traceEvents"]
for e in events:
    assert isinstance(e["name"], str) and e["ph"] in "CiM" and isinstance(e["pid"], int), e
    if e["ph"] != "M":
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0, e
heap = [e for e in events if e["ph"] == "C" and e["name"] == "heap"]
rss = [e for e in events if e["ph"] == "C" and e["name"] == "rss"]
marks = [e for e in events if e["ph"] == "i" and e.get("cat") == "phase"]
assert 2 <= len(heap) <= 10001, len(heap)
assert all(a["ts"] <= b["ts"] for a, b in zip(heap, heap[1:])), "heap counter not in time order"
values = [e["args"]["bytes"] for e in heap]
assert max(values) == peak, (max(values), peak)
assert values[-1] == leaked, (values[-1], leaked)
assert rss and all(e["args"]["bytes"] > 1 << 20 for e in rss), rss
assert [m["name"] for m in marks] == ["start", "built", "done"], marks
assert marks[0]["ts"] < marks[1]["ts"] < marks[2]["ts"] <= heap[-1]["ts"], marks
assert marks[2]["ts"] - marks[1]["ts"] >= 500000, "the sleep between the marks is missing"
top = [e for e in events if e["name"] == "peak heap"][0]
assert top["args"]["bytes"] == peak and top["ts"] == heap[values.index(peak)]["ts"], top
print(f"{len(heap)} heap points, {len(rss)} rss samples, marks at",
      [round(m["ts"]) for m in marks], "µs")
PY
}

case_export_dhat() {
  make_trace
  export_totals
  expect_status 0 "$CLI" export "$TRACE" --format dhat -o "$WORK/dhat.json"
  "$PYTHON" - "$WORK/dhat.json" "$F_ALLOCATED" "$F_ALLOCS" "$F_PEAK" "$F_LEAKED" \
    "$R_LEAKED_BLOCKS" <<'PY' || fail "bad DHAT file"
import json, sys
d = json.load(open(sys.argv[1]))
allocated, allocs, peak, leaked, leaked_blocks = map(int, sys.argv[2:])
for f in ["dhatFileVersion", "mode", "verb", "bklt", "bkacc", "tu", "Mtu", "cmd", "pid", "te",
          "pps", "ftbl", "tg", "tuth"]:
    assert f in d, f
assert d["dhatFileVersion"] == 2 and d["mode"] == "heap" and d["bklt"] and not d["bkacc"]
assert d["ftbl"][0] == "[root]"
seen = set()
for pp in d["pps"]:
    assert all(0 < i < len(d["ftbl"]) for i in pp["fs"]) and pp["fs"], pp
    assert tuple(pp["fs"]) not in seen, "a repeated location"
    seen.add(tuple(pp["fs"]))
    assert pp["mb"] >= max(pp["gb"], pp["eb"]) and pp["mbk"] >= 1, pp
total = lambda k: sum(pp[k] for pp in d["pps"])
assert (total("tb"), total("tbk"), total("gb"), total("eb"), total("ebk")) == \
    (allocated, allocs, peak, leaked, leaked_blocks), \
    (total("tb"), total("tbk"), total("gb"), total("eb"), total("ebk"))
assert 0 < d["tg"] <= d["te"], (d["tg"], d["te"])
print(len(d["pps"]), "program points,", len(d["ftbl"]), "frames")
PY
  # Valgrind's viewer itself, dh_view.js, loads it (under node with a minimal DOM).
  local viewer=/usr/libexec/valgrind/dh_view.js
  [[ -f $viewer ]] || skip "no $viewer (Debian's valgrind package)"
  [[ -x /usr/bin/node ]] || skip "no /usr/bin/node on this machine"
  node "$(dirname "$0")/dh_view_harness.js" "$viewer" "$WORK/dhat.json" >"$WORK/view" ||
    fail "dh_view.js could not show the file"
  head -1 "$WORK/view"
  "$PYTHON" - "$WORK/view" "$F_ALLOCATED" "$F_ALLOCS" "$F_PEAK" "$F_LEAKED" <<'PY' ||
import json, sys
view = json.loads(open(sys.argv[1]).readline())
r = view["root"]
want = list(map(int, sys.argv[2:]))
assert [r["totalBytes"], r["totalBlocks"], r["atTGmaxBytes"], r["atTEndBytes"]] == want, (r, want)
assert "At t-gmax (bytes)" in view["metrics"] and "At t-end (bytes)" in view["metrics"], view
PY
    fail "dh_view.js's totals differ from the report's"
  expect_in "$WORK/view" "Allocated at {"
  expect_in "$WORK/view" "(/usr/bin/python3"
  command -v chromium >/dev/null ||
    echo "note: chromium is not installed; dh_view.js ran under node, not in a browser"
}

# Renders the page in headless Chromium and dumps the DOM after its scripts ran:
# render_html URL OUT. The page's own window.onerror hook writes errors into div#report-errors.
render_html() {
  timeout 20 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --no-first-run --user-data-dir="$(mktemp -d "$WORK/chrome.XXXXXX")" \
    --dump-dom "$1" >"$2" 2>"$WORK/chromium.err" || {
    tail -5 "$WORK/chromium.err" >&2
    fail "chromium could not render $1"
  }
}

# check_dom DOM MODE [NAME]: the dumped DOM has the three charts, no script error, and the flame
# graph drawn in MODE with a node named NAME; with no NAME, it must show a script error instead.
check_dom() {
  "$PYTHON" - "$@" <<'PY'
import html.parser, sys
dom, mode = sys.argv[1], sys.argv[2]
want = sys.argv[3] if len(sys.argv) > 3 else None
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.names, self.graph_mode, self.errors, self.in_errors = {}, [], None, "", False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids[a["id"]] = tag
        if a.get("id") == "flamegraph":
            self.graph_mode = a.get("data-mode")
        if "fg-node" in (a.get("class") or "").split():
            self.names.append(a.get("data-name"))
        self.in_errors = a.get("id") == "report-errors"
    def handle_endtag(self, tag):
        self.in_errors = False
    def handle_data(self, data):
        if self.in_errors:
            self.errors += data
p = P()
p.feed(open(dom, encoding="utf-8").read())
if want is None:
    assert "script error" in p.errors, "the error hook did not write the error into the DOM"
    sys.exit(0)
assert not p.errors.strip(), "script errors: " + p.errors
for chart in ["heap-chart", "size-histogram", "lifetime-histogram"]:
    assert p.ids.get(chart) == "svg", "no svg#" + chart
assert p.graph_mode == mode, (p.graph_mode, mode)
assert "all" in p.names and len(p.names) > 2, p.names[:5]
assert want in p.names, "no flame-graph node %r among %d in mode %s" % (want, len(p.names), mode)
print("%s: %d flame-graph nodes, top site %r drawn" % (mode, len(p.names), want))
PY
}

case_report_html() {
  make_trace
  expect_status 0 "$CLI" report "$TRACE" --format html -o "$WORK/report.html"
  [[ -s $WORK/report.html && ! -s $WORK/out ]] || fail "-o did not take the report"
  expect_in "$WORK/report.html" '<svg id="heap-chart"'
  expect_in "$WORK/report.html" '<script type="application/json" id="fg-data">'
  ! grep -qE 'https?://' "$WORK/report.html" || fail "the report refers to a URL"
  expect_status 0 "$CLI" report "$TRACE" --format html
  cmp -s "$WORK/out" "$WORK/report.html" || fail "stdout and -o differ"
  # The innermost frame of the top site of each table, as the JSON report names it.
  expect_status 0 "$CLI" report "$TRACE" --format json -o "$WORK/report.json"
  local tops
  tops=$("$PYTHON" - "$WORK/report.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["top_sites"]
for key in ["peak", "allocations", "leaked"]:
    sites = t[key]["sites"]
    print(sites[0]["frames"][0]["name"] if sites and sites[0]["frames"] else "")
PY
  ) || fail "cannot read the JSON report"
  mapfile -t tops <<<"$tops"
  command -v chromium >/dev/null ||
    skip "chromium is not installed (apt-get install chromium; scripts/setup.sh installs it)"
  local modes=(peak allocs leaks) i
  for i in 0 1 2; do
    [[ -n ${tops[i]} ]] || fail "the trace has no ${modes[i]} site to look for"
    render_html "file://$WORK/report.html#mode=${modes[i]}" "$WORK/dom-${modes[i]}.html"
    check_dom "$WORK/dom-${modes[i]}.html" "${modes[i]}" "${tops[i]}" ||
      fail "the ${modes[i]} flame graph in Chromium"
  done
  # The hook works: a failing script shows up in the DOM (so "no error" above means something).
  sed 's|</body>|<script>noSuchFunction();</script></body>|' "$WORK/report.html" >"$WORK/broken.html"
  render_html "file://$WORK/broken.html" "$WORK/dom-broken.html"
  check_dom "$WORK/dom-broken.html" peak || fail "a script error was not caught"
}

# --- the progress bar while traces are read -------------------------------------------------

# check_progress FILE WIDTH NAME...: FILE holds what a verb wrote to stderr: for each NAME, in
# order, progress lines "reading NAME [##--]  N%  X of Y", redrawn in place with \r, exactly
# WIDTH columns, then erased (spaces, then \r) — and nothing else.
check_progress() {
  "$PYTHON" - "$@" <<'PY'
import re, sys
stream = open(sys.argv[1], encoding="utf-8", newline="").read()
width, names = int(sys.argv[2]), sys.argv[3:]
size = r"[\d.]+ (B|KiB|MiB)"
line = re.compile(r"reading (\S+) \[(#*)(-*)\] +(\d+)%%  %s of %s *$" % (size, size))
erase = "\r" + " " * width + "\r"
bars = []  # [name, percentages, erased] per bar
while stream:
    if stream.startswith(erase):
        assert bars and bars[-1][1] and not bars[-1][2], "erased, but nothing to erase"
        bars[-1][2] = True
        stream = stream[len(erase):]
        continue
    assert stream.startswith("\r"), "not drawn in place: %r" % stream[:200]
    part, _, rest = stream[1:].partition("\r")
    stream = "\r" + rest if rest or _ else ""
    assert len(part) == width, "%d columns, not %d: %r" % (len(part), width, part)
    m = line.match(part)
    assert m, "not a progress line: %r" % part
    if not bars or bars[-1][2]:
        bars.append([m.group(1), [], False])
    assert bars[-1][0] == m.group(1), part
    bars[-1][1].append(int(m.group(4)))
assert [b[0] for b in bars] == names, ([b[0] for b in bars], names)
for name, percents, erased in bars:
    assert erased and percents == sorted(percents), (name, percents, erased)
    print("%s: %d progress lines (%s%%), then erased" % (name, len(percents),
          ", ".join(map(str, percents))))
PY
}

# on_terminal OUT CMD...: runs CMD with stdout into OUT and stderr on a pseudo-terminal of 72
# columns, whose output goes to $WORK/tty.
on_terminal() {
  local out=$1 cmd
  shift
  printf -v cmd '%q ' "$@"
  script -qfec "stty cols 72; $cmd >$(printf %q "$out")" /dev/null >"$WORK/tty" </dev/null ||
    fail "'$*' failed on a terminal: $(cat "$WORK/tty")"
}

case_progress() {
  command -v script >/dev/null || skip "no script(1) (util-linux) to give the CLI a terminal"
  script -qfec true /dev/null >/dev/null 2>&1 </dev/null ||
    skip "script(1) cannot open a pseudo-terminal here (no /dev/pts?)"
  # A trace over 16 MiB (some 25 M events), which a terminal gets a bar for from the start
  # (smaller ones only after half a second, which a test cannot count on).
  "$CLI" run --engine libc -o "$WORK/big.trace" -- \
    "$POOLSCOPE_TEST_BIN/bench/bench_small_churn" 14000000 1000 >/dev/null 2>&1 ||
    fail "could not record the big trace"
  (($(stat -c %s "$WORK/big.trace") >= 16 << 20)) ||
    fail "the trace is only $(stat -c %s "$WORK/big.trace") bytes"
  on_terminal "$WORK/tty.out" "$CLI" report "$WORK/big.trace"
  check_progress "$WORK/tty" 71 big.trace || fail "no proper progress bar on the terminal"
  # Not a terminal: nothing, and the same report.
  expect_status 0 "$CLI" report "$WORK/big.trace"
  [[ ! -s $WORK/err ]] || fail "stderr is a file, yet: $(head -c 300 "$WORK/err" | od -c | head)"
  cmp -s "$WORK/out" "$WORK/tty.out" || fail "the report differs on a terminal"
  on_terminal "$WORK/tty.out" "$CLI" report --no-progress "$WORK/big.trace"
  [[ ! -s $WORK/tty ]] || fail "--no-progress, yet: $(head -c 300 "$WORK/tty" | od -c | head)"

  # --progress draws it anyway, for every verb that reads traces, one bar per trace.
  make_trace
  local name=${TRACE##*/}
  expect_status 0 "$CLI" export "$TRACE" --format folded --progress
  check_progress "$WORK/err" 80 "$name" || fail "export --progress"
  expect_status 0 "$CLI" check --progress "$TRACE" --max-peak 1GiB
  check_progress "$WORK/err" 80 "$name" || fail "check --progress"
  expect_status 0 "$CLI" diff "$TRACE" --progress "$WORK/big.trace"
  check_progress "$WORK/err" 80 "$name" big.trace || fail "diff --progress"
  expect_status 0 "$CLI" --help
  expect_in "$WORK/out" "--progress"
}

"case_${1:?case name}"
echo "ok: cli $1"
