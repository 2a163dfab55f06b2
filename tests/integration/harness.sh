# Sourced by the integration tests. meson passes, in the environment:
#   POOLSCOPE_TEST_LIB     absolute path of the built libpoolscope.so
#   POOLSCOPE_TEST_ENGINE  the engine this run of the test exercises (libc, ...)
#   POOLSCOPE_TEST_CLI     absolute path of the built poolscope CLI
#   POOLSCOPE_TEST_BIN     the build directory holding the test programs
#   POOLSCOPE_TEST_ULIMIT_V  optional: an address-space limit in KiB (ulimit -v) for every
#                            program the test runs, plain and preloaded alike
#   POOLSCOPE_TEST_TRACE     optional: full or sampled — preloaded runs also record, into
#                            $WORK/recorded-traces (outside the directories whose files are compared)
set -euo pipefail

: "${POOLSCOPE_TEST_LIB:?run through meson test}"
: "${POOLSCOPE_TEST_ENGINE:?run through meson test}"
# Kept as shell variables but not passed on: the library reports unknown POOLSCOPE_ variables,
# and the programs under test must see the same environment plain and preloaded.
export -n POOLSCOPE_TEST_LIB POOLSCOPE_TEST_ENGINE POOLSCOPE_TEST_CLI POOLSCOPE_TEST_BIN
TEST_TRACE=${POOLSCOPE_TEST_TRACE:-off}
export -n POOLSCOPE_TEST_TRACE
if [[ -n ${POOLSCOPE_TEST_ULIMIT_V:-} ]]; then
  ulimit -v "$POOLSCOPE_TEST_ULIMIT_V"
  export -n POOLSCOPE_TEST_ULIMIT_V
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/poolscope-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/recorded-traces"

# Debian's python, never a pyenv shim that would run a different interpreter each way.
PYTHON=/usr/bin/python3

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# meson counts exit status 77 as a skip; the reason goes to the test log.
skip() {
  echo "SKIP: $*"
  exit 77
}

# Runs a command with the library preloaded on the engine under test.
preloaded() {
  if [[ $TEST_TRACE != off ]]; then
    LD_PRELOAD="$POOLSCOPE_TEST_LIB${LD_PRELOAD:+:$LD_PRELOAD}" \
      POOLSCOPE_ENGINE="$POOLSCOPE_TEST_ENGINE" POOLSCOPE_TRACE="$TEST_TRACE" \
      POOLSCOPE_OUTPUT="$WORK/recorded-traces/%p.trace" "$@"
  else
    LD_PRELOAD="$POOLSCOPE_TEST_LIB${LD_PRELOAD:+:$LD_PRELOAD}" \
      POOLSCOPE_ENGINE="$POOLSCOPE_TEST_ENGINE" "$@"
  fi
}

# run_captured DIR CMD...: runs CMD with stdout, stderr and the exit status saved under DIR.
run_captured() {
  local dir=$1
  shift
  mkdir -p "$dir"
  local rc=0
  "$@" >"$dir/stdout" 2>"$dir/stderr" </dev/null || rc=$?
  echo "$rc" >"$dir/status"
}

# compare_runs NAME CMD...: runs CMD plain and preloaded and fails unless stdout, stderr and
# exit status are identical. Each run starts in its own empty directory, $RUN_DIR, whose files
# are compared by sha256 as well: CMD may write there (use relative paths or "$RUN_DIR").
compare_runs() {
  local name=$1
  shift
  local mode
  for mode in plain preloaded; do
    local dir="$WORK/$name.$mode"
    mkdir -p "$dir/files"
    if [[ $mode == plain ]]; then
      (cd "$dir/files" && RUN_DIR="$dir/files" run_captured "$dir" "$@")
    else
      (cd "$dir/files" && RUN_DIR="$dir/files" run_captured "$dir" preloaded "$@")
    fi
    (cd "$dir/files" && find . -type f -print0 | sort -z | xargs -0r sha256sum) >"$dir/files.sha256"
  done
  local what
  for what in status stdout stderr files.sha256; do
    if ! cmp -s "$WORK/$name.plain/$what" "$WORK/$name.preloaded/$what"; then
      echo "--- $name: $what differs (plain vs preloaded, engine $POOLSCOPE_TEST_ENGINE)" >&2
      diff <(head -c 20000 "$WORK/$name.plain/$what") \
        <(head -c 20000 "$WORK/$name.preloaded/$what") | head -40 >&2 || true
      fail "$name: $what differs under the library"
    fi
  done
  if [[ $TEST_TRACE != off ]]; then
    local traces
    traces=$(find "$WORK/recorded-traces" -name '*.trace*' | wc -l)
    ((traces > 0)) || fail "$name: recording $TEST_TRACE, but no trace was written"
    if [[ -n ${POOLSCOPE_TEST_CLI:-} ]]; then
      local t
      for t in "$WORK"/recorded-traces/*.trace*; do
        "$POOLSCOPE_TEST_CLI" report "$t" >/dev/null || fail "$name: unreadable trace $t"
      done
    fi
    echo "ok: $name wrote $traces readable traces ($TEST_TRACE)"
  fi
  echo "ok: $name identical plain and under engine $POOLSCOPE_TEST_ENGINE" \
    "($(wc -c <"$WORK/$name.plain/stdout") bytes of stdout, status $(cat "$WORK/$name.plain/status"))"
}
