# Sourced by the recorder's test scripts after ../harness.sh. meson passes, besides the
# harness's variables, POOLSCOPE_TEST_PROBE: the trace_probe tool built in this folder.
: "${POOLSCOPE_TEST_PROBE:?run through meson test}"
: "${POOLSCOPE_TEST_CLI:?run through meson test}"
export -n POOLSCOPE_TEST_PROBE
PROBE=$POOLSCOPE_TEST_PROBE
CLI=$POOLSCOPE_TEST_CLI
ENGINE=$POOLSCOPE_TEST_ENGINE

# fact FILE KEY: the value of KEY in a `trace_probe facts` (or `window`) output saved in FILE.
fact() {
  local line
  line=$(grep -m1 "^$2=" "$1") || fail "no '$2' in $(basename "$1")"
  echo "${line#*=}"
}

# probe_facts TRACE OUT: saves `trace_probe facts TRACE` in OUT; fails when the trace is unreadable.
probe_facts() {
  "$PROBE" facts "$1" >"$2" || fail "trace_probe cannot read $1"
}

# expect_fact FILE KEY VALUE [WHAT]
expect_fact() {
  local got
  got=$(fact "$1" "$2")
  [[ $got == "$3" ]] || fail "${4:-$(basename "$1")}: $2 is '$got', expected '$3'"
}

# traced CMD...: runs CMD preloaded with a full trace (POOLSCOPE_OUTPUT must be set by the caller).
traced() {
  POOLSCOPE_TRACE=${POOLSCOPE_TRACE:-full} preloaded "$@"
}
