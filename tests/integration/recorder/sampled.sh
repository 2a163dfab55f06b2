#!/bin/bash
# Issue 5, "Done when": sampled mode on a workload allocating >= 4 GiB with a >= 1 GiB live
# peak: over 20 seeds, >= 19 estimates of total and of peak bytes within +-5 % of the full
# numbers, and mean error <= 1 %.
#
# sampled_workload.c allocates 4.5 GiB in all with a 1.25 GiB peak (log-uniform 64 B - 4 MiB
# blocks, untouched). A full trace gives the reference totals (the summary's allocated and peak
# bytes, which must cover the program's own figures, start-up included); then 20 runs of
# `poolscope run --trace sampled` (512 KiB) with POOLSCOPE_SAMPLE_SEED=1..20 give estimates
# from the same summary. "Mean error" is the error of the mean of the 20 estimates (the bias of
# the estimator); the mean absolute error is printed beside it. A repeated seed must reproduce
# its trace's estimates exactly, and the 20 seeds must give 20 different samplings (else the
# 20 estimates are not 20 independent trials).
source "$(dirname "$0")/../harness.sh"
source "$(dirname "$0")/common.sh"
prog=$1
# meson sets MALLOC_PERTURB_, which makes glibc fill every block it hands out and takes back:
# under the libc engine the workload would then write all its 4.5 GiB (and hold 1.25 GiB
# resident) instead of never touching it.
unset MALLOC_PERTURB_

mkdir "$WORK/traces"
run_captured "$WORK/full" "$CLI" run --engine "$ENGINE" --trace full -o "$WORK/traces/full.trace" -- "$prog"
[[ $(cat "$WORK/full/status") == 0 ]] || fail "full run exited $(cat "$WORK/full/status"): $(cat "$WORK/full/stderr")"
probe_facts "$WORK/traces/full.trace" "$WORK/full.facts"
expect_fact "$WORK/full.facts" end_records 1
expect_fact "$WORK/full.facts" sample_bytes 0
ref_total=$(fact "$WORK/full.facts" summary_allocated_bytes)
ref_peak=$(fact "$WORK/full.facts" summary_peak_bytes)
prog_total=$(fact "$WORK/full/stdout" bytes)
prog_peak=$(fact "$WORK/full/stdout" peak)
((prog_total >= 4 << 30 && prog_peak >= 1 << 30)) || fail "the workload allocates $prog_total bytes with a $prog_peak-byte peak: too small"
# The full trace holds the program's figures plus at most 1 MiB of start-up allocations.
((ref_total >= prog_total && ref_total - prog_total < 1 << 20)) ||
  fail "full trace: $ref_total bytes allocated, the program says $prog_total"
((ref_peak >= prog_peak && ref_peak - prog_peak < 1 << 20)) ||
  fail "full trace: peak $ref_peak bytes, the program says $prog_peak"
echo "reference (full trace): total $ref_total, peak $ref_peak bytes; program: $prog_total, $prog_peak"

: >"$WORK/estimates"
for seed in $(seq 1 20) 1; do
  t=$WORK/traces/seed$seed.$RANDOM.trace
  run_captured "$WORK/sampled" env POOLSCOPE_SAMPLE_SEED="$seed" \
    "$CLI" run --engine "$ENGINE" --trace sampled -o "$t" -- "$prog"
  [[ $(cat "$WORK/sampled/status") == 0 ]] || fail "seed $seed: exited $(cat "$WORK/sampled/status"): $(cat "$WORK/sampled/stderr")"
  cmp -s "$WORK/full/stdout" "$WORK/sampled/stdout" || fail "seed $seed: the program's output differs"
  probe_facts "$t" "$WORK/s.facts"
  expect_fact "$WORK/s.facts" sample_bytes 524288 "seed $seed"
  expect_fact "$WORK/s.facts" end_records 1 "seed $seed"
  expect_fact "$WORK/s.facts" corrupt_frames 0 "seed $seed"
  echo "$seed $(fact "$WORK/s.facts" summary_allocated_bytes) $(fact "$WORK/s.facts" summary_peak_bytes) $(fact "$WORK/s.facts" sampled_alloc_records)" >>"$WORK/estimates"
done

"$PYTHON" - "$WORK/estimates" "$ref_total" "$ref_peak" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])]
ref = {"total": int(sys.argv[2]), "peak": int(sys.argv[3])}
first, repeat = rows[0], rows[-1]
rows = rows[:-1]
problems = []
if first[1:] != repeat[1:]:
    problems.append(f"seed 1 twice gave different estimates: {first[1:]} then {repeat[1:]}")
distinct = len({tuple(r[1:]) for r in rows})
if distinct != len(rows):
    same = {}
    for r in rows:
        same.setdefault(tuple(r[1:]), []).append(r[0])
    groups = ", ".join("=".join(v) for v in same.values() if len(v) > 1)
    problems.append(f"the 20 seeds gave only {distinct} different samplings (identical seeds: {groups})")
for seed, total, peak, samples in rows:
    print(f"seed {seed:>2}: {samples:>5} samples, total {int(total)/ref['total']-1:+.3%}, "
          f"peak {int(peak)/ref['peak']-1:+.3%}")
for column, name in [(1, "total"), (2, "peak")]:
    errors = [int(r[column]) / ref[name] - 1 for r in rows]
    within = sum(abs(e) <= 0.05 for e in errors)
    mean = sum(errors) / len(errors)
    mae = sum(abs(e) for e in errors) / len(errors)
    print(f"{name}: {within}/20 within +-5 %, mean error {mean:+.3%}, mean absolute error "
          f"{mae:.3%}, worst {max(errors, key=abs):+.3%}")
    if within < 19:
        problems.append(f"only {within}/20 estimates of {name} bytes within +-5 %")
    if abs(mean) > 0.01:
        problems.append(f"mean error of the {name} estimates is {mean:+.3%}")
for p in problems:
    print("FAIL: " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
