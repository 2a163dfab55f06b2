# Pool-engine properties checked on real processes under LD_PRELOAD. Usage: pool.sh CASE PROGRAM
# hugepages  1 GiB of small blocks lives >= 90 % in huge pages (the program prints the figure)
# decay      freed memory goes back to the OS within the decay time; in-use huge pages stay
# invalid    invalid frees are reported once each and ignored; 10^6 pairs then still work
# realloc    realloc growth to 1 GiB keeps contents, identical plain and preloaded
# hugetlb    POOLSCOPE_HUGEPAGES=hugetlb without reserved pages: one line, then THP
# nohuge     POOLSCOPE_HUGEPAGES=off: no huge pages in the heap
source "$(dirname "$0")/../harness.sh"
case=$1
program=$2

case $case in
  hugepages | decay)
    rc=0
    # The decay is set, and given to the program, so it knows how long to wait.
    POOLSCOPE_DECAY_MS=1000 preloaded "$program" 1000 >"$WORK/out" 2>"$WORK/err" || rc=$?
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
  hugetlb)
    reserved=$(awk '/HugePages_Total/ {print $2}' /proc/meminfo)
    [[ $reserved == 0 ]] || skip "this machine reserves $reserved huge pages: no fallback to see"
    rc=0
    POOLSCOPE_HUGEPAGES=hugetlb preloaded "$program" >"$WORK/out" 2>"$WORK/err" || rc=$?
    cat "$WORK/out" "$WORK/err"
    [[ $rc == 0 || $rc == 77 ]] || fail "hugetlb: exit status $rc"
    [[ $(grep -c 'poolscope:' "$WORK/err") == 1 ]] || fail "hugetlb: expected exactly one line"
    grep -q 'no reserved huge pages (MAP_HUGETLB failed); using transparent huge pages' \
      "$WORK/err" || fail "hugetlb: the fallback was not announced"
    ;;
  nohuge)
    rc=0
    POOLSCOPE_HUGEPAGES=off preloaded "$program" >"$WORK/out" 2>"$WORK/err" || rc=$?
    cat "$WORK/out" "$WORK/err"
    [[ $rc == 77 ]] && skip "$(cat "$WORK/out")"
    # The coverage program fails below 90 % on purpose; here the figure must be 0.
    grep -q 'AnonHugePages 0 MiB' "$WORK/out" || fail "nohuge: huge pages were used"
    ;;
  *) fail "unknown case $case" ;;
esac
echo "ok: pool $case"
