# Pool-engine properties checked on real processes under LD_PRELOAD. Usage: pool.sh CASE PROGRAM
# hugepages  1 GiB of small blocks lives >= 90 % in huge pages (the program prints the figure)
# decay      freed memory goes back to the OS within the decay time; in-use huge pages stay
# invalid    invalid frees are reported once each and ignored; 10^6 pairs then still work
# realloc    realloc growth to 1 GiB keeps contents, identical plain and preloaded
source "$(dirname "$0")/../harness.sh"
case=$1
program=$2

case $case in
  hugepages | decay)
    rc=0
    preloaded "$program" >"$WORK/out" 2>"$WORK/err" || rc=$?
    cat "$WORK/out" "$WORK/err"
    [[ $rc == 77 ]] && skip "$(cat "$WORK/out")"
    [[ $rc == 0 ]] || fail "$case: exit status $rc"
    [[ ! -s $WORK/err ]] || fail "$case: unexpected stderr"
    ;;
  invalid)
    rc=0
    preloaded "$program" >"$WORK/out" 2>"$WORK/err" || rc=$?
    cat "$WORK/out" "$WORK/err"
    [[ $rc == 0 ]] || fail "invalid: exit status $rc"
    grep -q '^1000000 pairs after 4 invalid frees' "$WORK/out" || fail "invalid: did not finish"
    [[ $(wc -l <"$WORK/err") == 4 ]] || fail "invalid: expected exactly 4 report lines"
    grep -q 'points into the stack; ignored' "$WORK/err" || fail "stack pointer not reported"
    grep -q 'points inside a block, not at its start; ignored' "$WORK/err" ||
      fail "interior pointer not reported"
    grep -q 'was already freed (double free); ignored' "$WORK/err" || fail "double free not reported"
    grep -q 'was not allocated by poolscope or glibc' "$WORK/err" ||
      fail "foreign mapping not reported"
    ;;
  realloc)
    compare_runs realloc_growth "$program"
    ;;
  *) fail "unknown case $case" ;;
esac
echo "ok: pool $case"
