#!/bin/bash
# The program's own mmap/mremap/munmap calls are recorded with their sizes (exactly its 7 of
# each, at least: libraries it loads may map memory of their own), and behave as without the
# library.
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
prog=$1

compare_runs mappings "$prog"
trace=$WORK/mappings.trace
run_captured "$WORK/run" env POOLSCOPE_OUTPUT="$trace" POOLSCOPE_TRACE=full \
  LD_PRELOAD="$POOLSCOPE_TEST_LIB" POOLSCOPE_ENGINE="$ENGINE" "$prog"
[[ $(cat "$WORK/run/status") == 0 ]] || fail "the program exited $(cat "$WORK/run/status")"
probe_facts "$trace" "$WORK/facts"
fact() { sed -n "s/^$1=//p" "$WORK/facts"; }
(($(fact mmap_records) >= 7)) || fail "mmap records: $(fact mmap_records)"
(($(fact munmap_records) >= 7)) || fail "munmap records: $(fact munmap_records)"
[[ $(fact mremap_records) == 7 ]] || fail "mremap records: $(fact mremap_records), expected 7"
[[ $(fact mremap_new_bytes) == $((7 * (5 << 20))) ]] || fail "mremap sizes: $(fact mremap_new_bytes)"
echo "ok: $(fact mmap_records) mmaps, $(fact munmap_records) munmaps, 7 mremaps recorded"
