#!/usr/bin/env bash
# Builds poolscope from a fresh clone and shows it at work on a bundled example program
# (tests/programs/demo/demo.cc): a growing vector, a map of strings, temporary strings, a few
# leaked blocks and two threads. Prints the program's own output, then a summary of what the
# library counted.
#
#   scripts/demo.sh            (from anywhere; builds in ./build of the repository)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build=build
demo=$build/tests/programs/demo/poolscope-demo
cli=$build/tools/poolscope/poolscope

step() { printf '\n==> %s\n' "$*"; }

step "installing build dependencies (scripts/setup.sh)"
scripts/setup.sh

if [[ -f $build/meson-private/coredata.dat ]]; then
  if ! meson introspect --buildoptions "$build" >/dev/null 2>&1; then
    step "reconfiguring $build (configured by another meson version)"
    meson setup --reconfigure "$build"
  fi
else
  step "configuring $build"
  meson setup "$build"
fi

step "building"
meson compile -C "$build" -j "$(nproc)"
[[ -x $demo ]] || { echo "demo: $demo was not built" >&2; exit 1; }

step "running the demo program under poolscope: $cli run --stats -- $demo"
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
rc=0
traces=$(mktemp -d)
trap 'rm -f "$out" "$err"; rm -rf "$traces"' EXIT
"$cli" run --stats -o "$traces/demo.%p.trace" -- "$demo" >"$out" 2>"$err" || rc=$?
sed 's/^/  | /' "$out"
# Anything else on stderr (the trace summary, a warning) is shown as it is.
grep -v '^poolscope: stats pid ' "$err" | sed 's/^/  ! /' >&2 || true
if ((rc != 0)); then
  echo "demo: the program exited with status $rc" >&2
  exit "$rc"
fi

# The library prints one line per process at exit:
#   poolscope: stats pid PID engine ENGINE: malloc N calloc N realloc N aligned N free N
#   new N delete N bootstrap N failed N (bootstrap bytes N)
line=$(grep -m1 '^poolscope: stats pid [0-9]* engine ' "$err" || true)
if [[ -z $line ]]; then
  echo "demo: the library printed no stats line; was it loaded?" >&2
  exit 1
fi
engine=$(sed -n 's/^poolscope: stats pid [0-9]* engine \([^:]*\):.*/\1/p' <<<"$line")
count() { sed -n "s/.* $1 \([0-9][0-9]*\).*/\1/p" <<<"${line#*: }"; }
malloc=$(count malloc) calloc=$(count calloc) realloc=$(count realloc) aligned=$(count aligned)
free=$(count free) new=$(count new) delete=$(count delete) failed=$(count failed)
c_unreleased=$((malloc + calloc + aligned - free))
cxx_unreleased=$((new - delete))

step "what poolscope saw"
cat <<SUMMARY
  engine serving the program:   $engine
  C calls:                      malloc $malloc, calloc $calloc, realloc $realloc, aligned $aligned, free $free
  C++ calls:                    operator new $new, operator delete $delete
  failed allocations:           $failed
  allocations left unreleased:  C about $c_unreleased, C++ $cxx_unreleased
                                (the demo leaks 8 malloc blocks on purpose; free(NULL) and realloc
                                calls make the C figure approximate)
SUMMARY

trace=$(ls "$traces"/demo.*.trace | head -1)
step "what the trace says: $cli report TRACE (the first sites of each table)"
"$cli" report "$trace" | awk '/^$/ { shown = 0 } { if (shown++ < 12) print "  " $0 }'
step "a CI budget: $cli check TRACE --max-leaked 4KiB"
"$cli" check "$trace" --max-leaked 4KiB 2>&1 | sed 's/^/  /' || true
