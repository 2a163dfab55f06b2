#!/usr/bin/env bash
# Benchmarks poolscope's pool engine against glibc (also with its huge-page tunable), jemalloc,
# tcmalloc and mimalloc on the workloads of tests/bench/, and prints one table; then measures the
# recorder (POOLSCOPE_TRACE=full|sampled, both engines) against heaptrack on five of them and
# prints the tracing table; then times `poolscope report` against heaptrack_print on one program's
# traces of ≥ 10 M calls (the report-speed section). A complete run writes all three into
# docs/PERFORMANCE.md between their markers (bench, bench-tracing, bench-report). See
# docs/PERFORMANCE.md.
#
# It measures; it does not test: the exit status is 0 whatever the numbers, non-zero only when
# it cannot run (bad option, build failure, no runner).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

usage() {
  cat <<'EOF'
usage: scripts/bench.sh [--quick] [--runs N] [--workloads W,...] [--allocators A,...]
                        [--no-callgrind] [--no-doc] [--micro]
                        [--tracing-only | --no-tracing | --report-only] [--no-report]
                        [--tracing-runs N]
  --quick          smaller sizes, 3 runs per cell, 3 tracing pairs (under 5 minutes)
  --runs N         runs per cell of the allocator table (default 5; 3 with --quick)
  --workloads      only these workloads: small_churn larson prodcons mixed big_arrays
                   containers python python_malloc gcc (the tracing table takes those of
                   small_churn larson mixed containers python)
  --allocators     only these allocators: glibc glibc-thp jemalloc tcmalloc mimalloc pool
  --no-callgrind   skip the callgrind instruction counts
  --no-doc         do not write docs/PERFORMANCE.md (a run limited by --workloads or
                   --allocators never writes it)
  --micro          run the Google Benchmark micro-benchmarks under every allocator instead
  --tracing-only   only the tracing table (recorder full/sampled vs heaptrack), no allocators
  --no-tracing     only the allocator table
  --report-only    only the report-speed section (`poolscope report` vs heaptrack_print on
                   small churn: 5 M iterations = 10 M calls; 1 M with --quick)
  --no-report      no report-speed section
  --tracing-runs N interleaved traced/untraced pairs per tracing cell (default 11; 3 with --quick)
Environment: POOLSCOPE_BUILD_DIR (default build); POOLSCOPE_* knobs other than
POOLSCOPE_ENGINE reach the pool runs unchanged.
EOF
}

die() {
  echo "bench: $*" >&2
  exit 1
}

quick=0 runs="" only_workloads="" only_allocators="" callgrind=1 write_doc=1 micro=0
tracing=1 tracing_only=0 tracing_runs="" report=1 report_only=0 no_tracing=0
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --runs) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; runs=$2; shift ;;
    --runs=*) runs=${1#*=} ;;
    --workloads) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; only_workloads=$2; shift ;;
    --workloads=*) only_workloads=${1#*=} ;;
    --allocators) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; only_allocators=$2; shift ;;
    --allocators=*) only_allocators=${1#*=} ;;
    --no-callgrind) callgrind=0 ;;
    --no-doc) write_doc=0 ;;
    --micro) micro=1 ;;
    --tracing-only) tracing_only=1 ;;
    --no-tracing) tracing=0 no_tracing=1 ;;
    --report-only) report_only=1 ;;
    --no-report) report=0 ;;
    --tracing-runs) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; tracing_runs=$2; shift ;;
    --tracing-runs=*) tracing_runs=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [[ -z $runs ]]; then runs=$((quick ? 3 : 5)); fi
if ! [[ $runs =~ ^[1-9][0-9]*$ ]]; then echo "bench: --runs needs a positive number" >&2; exit 2; fi
if [[ -z $tracing_runs ]]; then tracing_runs=$((quick ? 3 : 11)); fi
if ! [[ $tracing_runs =~ ^[1-9][0-9]*$ ]]; then
  echo "bench: --tracing-runs needs a positive number" >&2
  exit 2
fi
if ((tracing_only + no_tracing + report_only > 1)); then
  echo "bench: --tracing-only, --no-tracing and --report-only exclude each other" >&2
  exit 2
fi
if ((report_only && !report)); then
  echo "bench: --report-only and --no-report exclude each other" >&2
  exit 2
fi
# Which parts run: the allocator table, the tracing table, the report-speed section.
alloc_table=1
if ((tracing_only)); then alloc_table=0 report=0; fi
if ((no_tracing)); then report=0; fi
if ((report_only)); then alloc_table=0 tracing=0; fi
if [[ -n $only_workloads || -n $only_allocators ]]; then write_doc=0; fi

python=/usr/bin/python3
[[ -x $python ]] || die "needs $python"
started=$(date +%s)

# ---------------------------------------------------------------------------------------------
# Build: the library and the bench programs only, so unrelated work in progress cannot stop us.
build=${POOLSCOPE_BUILD_DIR:-build}
if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" >/dev/null || die "meson setup $build failed"
fi
bin=$build/tests/bench
targets=(src/poolscope:shared_library tests/bench/measure tests/bench/fault_probe)
for t in small_churn larson prodcons mixed big_arrays containers; do
  targets+=("tests/bench/bench_$t")
done
if ((micro)); then targets+=(tests/bench/bench_micro); fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/poolscope-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "bench: building (meson compile -C $build)" >&2
if ! meson compile -C "$build" "${targets[@]}" >"$tmp/build.log" 2>&1; then
  tail -40 "$tmp/build.log" >&2
  die "build failed"
fi
measure=$root/$bin/measure
bin=$root/$bin
lib=$root/$build/src/libpoolscope.so
[[ -x $measure && -f $lib ]] || die "build produced no $measure or $lib"
# The CLI only counts the events of the tracing table's traces: without it the table has no
# poolscope bytes per event, but everything else is measured.
cli=$root/$build/tools/poolscope/poolscope
if (((tracing || report) && !micro)); then
  if ! meson compile -C "$build" tools/poolscope/poolscope >"$tmp/build-cli.log" 2>&1; then
    tail -20 "$tmp/build-cli.log" >&2
    echo "bench: the poolscope CLI did not build: no poolscope bytes per event, no" \
      "report-speed section" >&2
    cli=""
  fi
fi
# What a first-touch page fault costs here, printed with the tables: on a VM that hands free
# memory back to its host, huge pages are many times slower to fault in than on bare metal, and
# the big-arrays and mixed rows cannot be read without knowing it. Measured once, before any
# workload, after 10 s of quiet so that the huge-page figure is the one a fresh process meets.
faults=""
if ((alloc_table || tracing)); then
  echo "bench: measuring page-fault costs (about 15 s)" >&2
  faults=$("$bin/fault_probe" 512 10 | sed -n 's/^fault_s_per_gib //p')
fi
# Every run preloads a copy taken now, so a rebuild while the bench runs (another checkout's
# tests, an editor's build) can neither change the library under measurement nor catch a run
# while the linker is rewriting it.
mkdir "$tmp/snapshot"
cp "$lib" "$tmp/snapshot/libpoolscope.so"
lib=$tmp/snapshot/libpoolscope.so
if [[ -n $cli ]]; then
  cp "$cli" "$tmp/snapshot/poolscope"
  cli=$tmp/snapshot/poolscope
fi
if env -u POOLSCOPE_TRACE LD_PRELOAD="$lib" /bin/true 2>&1 | grep -q 'cannot be preloaded'; then
  die "the copy of libpoolscope.so cannot be preloaded (was it being rebuilt?); run again"
fi

# ---------------------------------------------------------------------------------------------
# Allocators: name -> environment settings (space separated NAME=VALUE).
declare -A A_ENV
allocators=()
missing=()
find_lib() {  # PACKAGE REGEX FALLBACK
  local f
  f=$(dpkg -L "$1" 2>/dev/null | grep -E "$2" | head -n1 || true)
  if [[ -z $f && -e $3 ]]; then f=$3; fi
  if [[ -n $f && -e $f ]]; then echo "$f"; fi
}
multiarch=/usr/lib/x86_64-linux-gnu
jemalloc=$(find_lib libjemalloc2 '/libjemalloc\.so\.2$' "$multiarch/libjemalloc.so.2")
tcmalloc=$(find_lib libtcmalloc-minimal4 '/libtcmalloc_minimal\.so\.4$' \
  "$multiarch/libtcmalloc_minimal.so.4")
mimalloc=$(find_lib libmimalloc2.0 '/libmimalloc\.so\.2\.0$' "$multiarch/libmimalloc.so.2.0")
add_alloc() {  # NAME ENV
  A_ENV[$1]=$2
  allocators+=("$1")
}
add_alloc glibc ""
add_alloc glibc-thp "GLIBC_TUNABLES=glibc.malloc.hugetlb=1"
if [[ -n $jemalloc ]]; then add_alloc jemalloc "LD_PRELOAD=$jemalloc"; else missing+=(jemalloc); fi
if [[ -n $tcmalloc ]]; then add_alloc tcmalloc "LD_PRELOAD=$tcmalloc"; else missing+=(tcmalloc); fi
if [[ -n $mimalloc ]]; then add_alloc mimalloc "LD_PRELOAD=$mimalloc"; else missing+=(mimalloc); fi
add_alloc pool "LD_PRELOAD=$lib POOLSCOPE_ENGINE=pool"
if ((${#missing[@]})); then
  echo "bench: not installed, skipped: ${missing[*]} (scripts/setup.sh installs them)" >&2
fi
if [[ -n $only_allocators ]]; then
  selected=()
  for a in ${only_allocators//,/ }; do
    [[ -n ${A_ENV[$a]+x} ]] || die "unknown or unavailable allocator '$a'"
    selected+=("$a")
  done
  allocators=("${selected[@]}")
fi
peers=()
for a in "${allocators[@]}"; do [[ $a == pool ]] || peers+=("$a"); done

# Every run starts from the same environment: nothing inherited may pick an allocator or tune one.
scrub=(-u LD_PRELOAD -u GLIBC_TUNABLES -u MALLOC_CONF -u TCMALLOC_RELEASE_RATE
  -u PYTHONMALLOC -u PYTHONHASHSEED -u POOLSCOPE_ENGINE)
for v in $(compgen -e); do
  case $v in MIMALLOC_* | MALLOC_* | JE_MALLOC_CONF | _RJEM_MALLOC_CONF) scrub+=(-u "$v") ;; esac
done

env_args() {  # ALLOCATOR [EXTRA NAME=VALUE...] -> sets the array `eargs`
  local kv
  eargs=("${scrub[@]}")
  for kv in ${A_ENV[$1]} "${@:2}"; do eargs+=(-e "$kv"); done
}

# ---------------------------------------------------------------------------------------------
if ((micro)); then
  [[ -x $bin/bench_micro ]] || die "bench_micro was not built (libbenchmark-dev missing?)"
  mkdir -p "$tmp/micro"
  min_time=$( ((quick)) && echo 0.05 || echo 0.2)
  for a in "${allocators[@]}"; do
    echo "bench: micro-benchmarks under $a" >&2
    env_args "$a"
    "$measure" -q -o "$tmp/micro/$a.res" "${eargs[@]}" -- "$bin/bench_micro" \
      "--benchmark_min_time=$min_time" --benchmark_out="$tmp/micro/$a.json" \
      --benchmark_out_format=json 2>"$tmp/micro/$a.err" || true
    if ! grep -q 'status=ok' "$tmp/micro/$a.res" 2>/dev/null; then
      echo "bench: micro-benchmarks failed under $a: $(cat "$tmp/micro/$a.res" 2>/dev/null)" >&2
      head -n5 "$tmp/micro/$a.err" >&2
    fi
  done
  "$python" tests/bench/report.py micro "$tmp/micro" "${allocators[@]}"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# Workloads: name -> label, command (full / quick), extra environment. Sizes give ~1-5 s
# each under glibc on a 2-core machine (quick: ~0.2-0.6 s).
gen_functions=$((quick ? 20 : 100))
"$python" tests/bench/gen_c.py "$gen_functions" "$tmp/big.c" || die "cannot generate the C file"
declare -A W_LABEL W_CMD W_ENV W_OUTPUT
workloads=()
# A workload prints `checksum HEX`, or names an OUTPUT file whose checksum stands for it.
add_workload() {  # NAME LABEL FULL-COMMAND QUICK-COMMAND [ENV] [OUTPUT]
  W_LABEL[$1]=$2
  if ((quick)); then W_CMD[$1]=$4; else W_CMD[$1]=$3; fi
  W_ENV[$1]=${5:-}
  W_OUTPUT[$1]=${6:-}
  workloads+=("$1")
}
add_workload small_churn "small churn" \
  "$bin/bench_small_churn 80000000 1000" "$bin/bench_small_churn 10000000 1000"
add_workload larson "larson-style, 2 threads" \
  "$bin/bench_larson 2 500 50000 5000" "$bin/bench_larson 2 60 50000 5000"
add_workload prodcons "producer/consumer" \
  "$bin/bench_prodcons 10000000 4096" "$bin/bench_prodcons 3000000 4096"
add_workload mixed "mixed sizes & lifetimes" \
  "$bin/bench_mixed 200 3" "$bin/bench_mixed 50 2"
add_workload big_arrays "big arrays" \
  "$bin/bench_big_arrays 256 4 40000000 1024" "$bin/bench_big_arrays 64 4 4000000 256"
add_workload containers "C++ containers" \
  "$bin/bench_containers 1000 20000" "$bin/bench_containers 120 20000"
add_workload python "python3 churn" \
  "$python $root/tests/bench/churn.py 30 20000" "$python $root/tests/bench/churn.py 3 20000"
add_workload python_malloc "python3 churn, PYTHONMALLOC=malloc" \
  "$python $root/tests/bench/churn.py 30 20000" "$python $root/tests/bench/churn.py 3 20000" \
  "PYTHONMALLOC=malloc"
add_workload gcc "gcc -O2 ($gen_functions generated functions)" \
  "gcc -O2 -c $tmp/big.c -o $tmp/big.o" "gcc -O2 -c $tmp/big.c -o $tmp/big.o" "" "$tmp/big.o"
if [[ -n $only_workloads ]]; then
  selected=()
  for w in ${only_workloads//,/ }; do
    [[ -n ${W_LABEL[$w]+x} ]] || die "unknown workload '$w'"
    selected+=("$w")
  done
  workloads=("${selected[@]}")
fi
timeout=$((quick ? 60 : 180))

results=$tmp/results.tsv
: >"$results"
: >"$tmp/problems.log"

run_cell() {  # WORKLOAD ALLOCATOR PASS
  local w=$1 a=$2 p=$3 status wall user sys rss checksum metrics line
  # shellcheck disable=SC2086  # W_ENV is a list of NAME=VALUE words, or empty
  env_args "$a" ${W_ENV[$w]}
  rm -f "$tmp/res"
  if [[ -n ${W_OUTPUT[$w]} ]]; then rm -f "${W_OUTPUT[$w]}"; fi
  # shellcheck disable=SC2086  # the command is a word list by design
  "$measure" -t "$timeout" -o "$tmp/res" "${eargs[@]}" -- ${W_CMD[$w]} \
    >"$tmp/out" 2>"$tmp/err" || true
  line=$(cat "$tmp/res" 2>/dev/null || true)
  status=runner-failed wall=0 user=0 sys=0 rss=0
  if [[ $line =~ status=([^ ]+)\ wall_s=([^ ]+)\ user_s=([^ ]+)\ sys_s=([^ ]+)\ maxrss_kb=([0-9]+) ]]; then
    status=${BASH_REMATCH[1]} wall=${BASH_REMATCH[2]} user=${BASH_REMATCH[3]}
    sys=${BASH_REMATCH[4]} rss=${BASH_REMATCH[5]}
  fi
  checksum=$(sed -n 's/^checksum \([0-9a-f]*\)$/\1/p' "$tmp/out" | head -n1)
  metrics=$(sed -n 's/^metrics //p' "$tmp/out" | head -n1)
  if [[ -n ${W_OUTPUT[$w]} && -f ${W_OUTPUT[$w]} ]]; then
    checksum=$(cksum <"${W_OUTPUT[$w]}" | awk '{ printf "%08x%08x", $1, $2 }')
  fi
  if [[ $status == ok && -z $checksum ]]; then status=no-checksum; fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "${W_LABEL[$w]}" "$a" "$p" \
    "$status" "$wall" "$user" "$sys" "$rss" "${checksum:--}" "${metrics:--}" >>"$results"
  # Anything a run says on stderr, or a failure, is worth a look: keep the first lines.
  if [[ $status != ok || -s $tmp/err ]]; then
    if ! grep -qF "[$w / $a]" "$tmp/problems.log"; then
      {
        echo "[$w / $a] pass $p: $status"
        head -n6 "$tmp/err" | sed 's/^/    /'
      } >>"$tmp/problems.log"
    fi
  fi
  cell_status=$status cell_wall=$wall
}

# ---------------------------------------------------------------------------------------------
# The machine, date and commit lines that head both tables (key=value, as report.py reads them).
thp_mode() {  # FILE -> the bracketed choice
  sed -n 's/.*\[\([^]]*\)\].*/\1/p' "$1" 2>/dev/null || echo "?"
}
machine_meta() {
  local cpu mem glibc_version thp commit
  cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n1)
  mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
  glibc_version=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ print $2 }')
  thp="enabled=$(thp_mode /sys/kernel/mm/transparent_hugepage/enabled)"
  thp+=" defrag=$(thp_mode /sys/kernel/mm/transparent_hugepage/defrag)"
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [[ -n $(git status --porcelain -- src include meson.build 2>/dev/null) ]]; then
    commit+=" (library sources with uncommitted changes)"
  fi
  echo "machine=$cpu, $(nproc) cores, $mem, Linux $(uname -r), glibc $glibc_version, THP $thp"
  if [[ -n $faults ]]; then echo "faults=$faults"; fi
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "commit=$commit"
}
section_meta() {  # MODE NOTES VERSION... -> the meta lines every section starts with
  local mode=$1 notes=$2 joined
  shift 2
  machine_meta
  echo "mode=$mode"
  joined=$(IFS=,; echo "$*")
  echo "versions=${joined//,/, }"
  echo "notes=$notes"
}


# =============================================================================================
# The allocator table.
if ((alloc_table)); then
  load_start=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "bench: ${#workloads[@]} workloads × ${#allocators[@]} allocators × $runs runs" \
    "($( ((quick)) && echo quick || echo full) sizes), interleaved" >&2
  nalloc=${#allocators[@]}
  for ((p = 0; p < runs; p++)); do
    for ((wi = 0; wi < ${#workloads[@]}; wi++)); do
      w=${workloads[wi]}
      progress="bench: pass $((p + 1))/$runs ${W_LABEL[$w]}:"
      # Rotate the order every pass (and per workload), so no allocator always runs first, and
      # reverse it every other pass, so none always runs right after the same one: a run can pay
      # for the memory its predecessor left behind (THP first touch after a big free is slower).
      for ((k = 0; k < nalloc; k++)); do
        if ((p % 2 == 0)); then
          a=${allocators[(k + p + wi) % nalloc]}
        else
          a=${allocators[(nalloc - 1 - k + p + wi) % nalloc]}
        fi
        run_cell "$w" "$a" "$p"
        if [[ $cell_status == ok ]]; then
          progress+=" $a $(printf '%.2f' "$cell_wall")s"
        else
          progress+=" $a $cell_status"
        fi
      done
      echo "$progress" >&2
    done
  done

  # ---------------------------------------------------------------------------------------------
  # Callgrind: instructions per small-churn iteration. Two runs that differ only in the number of
  # iterations; the difference cancels start-up, ring fill and teardown.
  cg=$tmp/callgrind.tsv
  : >"$cg"
  if ((callgrind)) && [[ " ${workloads[*]} " == *" small_churn "* ]]; then
    if command -v valgrind >/dev/null 2>&1; then
      small_iters=200000 big_iters=1200000
      for a in "${allocators[@]}"; do
        irs=()
        for n in $small_iters $big_iters; do
          env_args "$a"
          "$measure" -q -t 600 -o "$tmp/cg.res" "${eargs[@]}" -- valgrind --tool=callgrind \
            --callgrind-out-file=/dev/null "$bin/bench_small_churn" "$n" 1000 \
            2>"$tmp/cg.err" || true
          irs+=("$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$tmp/cg.err" | head -n1)")
        done
        printf '%s\t%s\t%s\t%s\t%s\n' "$a" "$small_iters" "${irs[0]}" "$big_iters" "${irs[1]}" >>"$cg"
        echo "bench: callgrind $a: Ir ${irs[0]:-failed} / ${irs[1]:-failed}" >&2
      done
    else
      echo "bench: valgrind not installed, no instruction counts (scripts/setup.sh installs it)" >&2
    fi
  fi

  # ---------------------------------------------------------------------------------------------
  # The rest of the header, then the table.
  versions=()
  for pkg in libjemalloc2:jemalloc libtcmalloc-minimal4:tcmalloc libmimalloc2.0:mimalloc; do
    v=$(dpkg-query -W -f='${Version}' "${pkg%%:*}" 2>/dev/null || true)
    if [[ -n $v ]]; then versions+=("${pkg#*:} $v"); fi
  done
  notes="load average at start $load_start, at end $(cut -d' ' -f1-3 /proc/loadavg)"
  knobs=$(compgen -e | grep '^POOLSCOPE_' | grep -v '^POOLSCOPE_ENGINE$' || true)
  for k in $knobs; do notes+="; $k=${!k}"; done
  mode="$( ((quick)) && echo "quick run (--quick: small sizes)" || echo "full run")"
  mode+=", $runs runs per cell, medians, allocator order rotated every pass and reversed every other"
  {
    section_meta "$mode" "$notes" "${versions[@]}"
    echo "allocators=${allocators[*]}"
    echo "peers=${peers[*]}"
  } >"$tmp/meta.txt"

  echo >&2
  doc_args=()
  if ((write_doc)); then doc_args=(--doc "$root/docs/PERFORMANCE.md"); fi
  "$python" tests/bench/report.py table "$results" "$cg" "$tmp/meta.txt" "${doc_args[@]}" ||
    die "could not produce the table"
  if [[ -s $tmp/problems.log ]]; then
    echo
    echo "Runs that failed or wrote to stderr (first lines):"
    cat "$tmp/problems.log"
  fi
fi

# =============================================================================================
# The tracing table (issue 5): what recording costs. On five of the workloads above, every pass
# runs, in rotating order, the untraced baselines (plain glibc; the pool engine with
# POOLSCOPE_TRACE=off) and the traced configurations: the recorder in `full` and `sampled` mode
# under each engine (POOLSCOPE_ENGINE=pool, and libc — the program's own glibc malloc, as heaptrack
# sees it), and heaptrack. A traced run and its baseline in the same pass make a pair; the table
# shows the median of the per-pair ratios. The first pass's traces are also sized and their events
# counted (bytes per event); every trace is deleted right after its run. Then callgrind counts
# instructions per small-churn iteration traced and untraced.
if ((tracing)); then
  tr_workloads=()
  for w in small_churn larson mixed containers python; do
    if [[ " ${workloads[*]} " == *" $w "* ]]; then tr_workloads+=("$w"); fi
  done
  if ((${#tr_workloads[@]} == 0)); then
    echo "bench: none of the tracing workloads selected, no tracing table" >&2
    tracing=0
  fi
fi
if ((tracing)); then
  declare -A T_ENV T_BASE
  tr_configs=()
  add_config() {  # NAME BASELINE ENV
    T_BASE[$1]=$2
    T_ENV[$1]=$3
    tr_configs+=("$1")
  }
  add_config glibc "" ""
  add_config pool "" "LD_PRELOAD=$lib POOLSCOPE_ENGINE=pool POOLSCOPE_TRACE=off"
  add_config pool-full pool "LD_PRELOAD=$lib POOLSCOPE_ENGINE=pool POOLSCOPE_TRACE=full"
  add_config pool-sampled pool "LD_PRELOAD=$lib POOLSCOPE_ENGINE=pool POOLSCOPE_TRACE=sampled"
  add_config libc-full glibc "LD_PRELOAD=$lib POOLSCOPE_ENGINE=libc POOLSCOPE_TRACE=full"
  add_config libc-sampled glibc "LD_PRELOAD=$lib POOLSCOPE_ENGINE=libc POOLSCOPE_TRACE=sampled"
  heaptrack=$(command -v heaptrack || true)
  heaptrack_print=$(command -v heaptrack_print || true)
  if [[ -n $heaptrack ]]; then
    add_config heaptrack glibc ""
  else
    echo "bench: heaptrack not installed, no heaptrack column (scripts/setup.sh installs it)" >&2
  fi
  # The recorder's own variables are set here; POOLSCOPE_SAMPLE_BYTES and the other knobs in
  # the environment reach the poolscope runs (and are listed in the notes).
  tr_scrub=("${scrub[@]}" -u POOLSCOPE_TRACE -u POOLSCOPE_OUTPUT)
  tr_timeout=$((quick ? 120 : 900))
  tr_runs=$tmp/tracing.tsv tr_sizes=$tmp/trace-sizes.tsv tr_cg=$tmp/tracing-callgrind.tsv
  tr_problems=$tmp/tracing-problems.log
  : >"$tr_runs"
  : >"$tr_sizes"
  : >"$tr_cg"
  : >"$tr_problems"
  tdir=$tmp/traces
  declare -A T_SIZED

  tr_env_args() {  # CONFIG TRACE-DIR [EXTRA NAME=VALUE...] -> sets the array `eargs`
    local kv
    eargs=("${tr_scrub[@]}")
    for kv in ${T_ENV[$1]} "${@:3}"; do eargs+=(-e "$kv"); done
    if [[ $1 == pool-* || $1 == libc-* ]]; then eargs+=(-e "POOLSCOPE_OUTPUT=$2/ps.%p.trace"); fi
  }

  tr_problem() {  # WORKLOAD CONFIG PASS TEXT [FILE-WITH-DETAILS]
    if ! grep -qF "[$1 / $2]" "$tr_problems"; then
      echo "[$1 / $2] pass $3: $4" >>"$tr_problems"
      if [[ -n ${5:-} && -s ${5:-} ]]; then head -n6 "$5" | sed 's/^/    /' >>"$tr_problems"; fi
    fi
  }

  # Sizes the traces of a run and counts their events: poolscope's with `poolscope report`
  # (allocations + frees + reallocs, summed over the run's trace files), heaptrack's with
  # heaptrack_print (allocations) and heaptrack's own stats on stderr (leaked allocations).
  size_traces() {  # WORKLOAD CONFIG PASS
    local w=$1 c=$2 p=$3 f bytes=0 events="" nfiles=0 flags="" calls a fr re leaked out
    if [[ $c == heaptrack ]]; then
      for f in "$tdir"/ht.*; do
        [[ -f $f ]] || continue
        bytes=$((bytes + $(stat -c %s "$f"))) nfiles=$((nfiles + 1))
        if [[ -n $heaptrack_print ]]; then
          calls=$("$heaptrack_print" -f "$f" -p 0 -a 0 -T 0 2>/dev/null |
            sed -n 's/^calls to allocation functions: \([0-9]*\).*/\1/p' | head -n1)
          leaked=$(sed -n 's/^[[:space:]]*leaked allocations:[[:space:]]*\([0-9]*\).*/\1/p' \
            "$tmp/err" | head -n1)
          if [[ -n $calls ]]; then
            events=$((2 * calls - ${leaked:-0}))
            if [[ -z $leaked ]]; then flags+="no leaked count, frees taken = allocations; "; fi
          else
            flags+="heaptrack_print failed; "
          fi
        fi
      done
    else
      events=0
      for f in "$tdir"/ps.*; do
        [[ -f $f ]] || continue
        bytes=$((bytes + $(stat -c %s "$f"))) nfiles=$((nfiles + 1))
        if [[ -z $cli ]]; then events=""; continue; fi
        out=$("$cli" report "$f" 2>&1 || true)
        if [[ $out =~ calls\ +([0-9]+)\ allocations,\ ([0-9]+)\ frees,\ ([0-9]+)\ reallocs ]]; then
          a=${BASH_REMATCH[1]} fr=${BASH_REMATCH[2]} re=${BASH_REMATCH[3]}
          if [[ -n $events ]]; then events=$((events + a + fr + re)); fi
        else
          events="" flags+="poolscope report failed on ${f##*/}; "
          tr_problem "$w" "$c" "$p" "poolscope report ${f##*/}: $(head -n1 <<<"$out")"
        fi
        if grep -qiE 'truncated|no end record|damaged|skipped' <<<"$out"; then
          flags+="${f##*/}: $(grep -iE 'truncated|no end record|damaged|skipped' <<<"$out" |
            head -n1 | tr -s ' ' | cut -c1-80); "
        fi
      done
    fi
    flags=${flags%; }
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$c" "$bytes" "$events" "$nfiles" "${flags:--}" \
      >>"$tr_sizes"
  }

  run_trace_cell() {  # WORKLOAD CONFIG PASS
    local w=$1 c=$2 p=$3 status wall checksum line note="" cmd
    rm -rf "$tdir"
    mkdir "$tdir"
    # shellcheck disable=SC2086  # W_ENV is a list of NAME=VALUE words, or empty
    tr_env_args "$c" "$tdir" ${W_ENV[$w]}
    # shellcheck disable=SC2206  # the command is a word list by design
    cmd=(${W_CMD[$w]})
    if [[ $c == heaptrack ]]; then cmd=("$heaptrack" -o "$tdir/ht" "${cmd[@]}"); fi
    rm -f "$tmp/res"
    "$measure" -t "$tr_timeout" -o "$tmp/res" "${eargs[@]}" -- "${cmd[@]}" \
      >"$tmp/out" 2>"$tmp/err" || true
    line=$(cat "$tmp/res" 2>/dev/null || true)
    status=runner-failed wall=0
    if [[ $line =~ status=([^ ]+)\ wall_s=([^ ]+) ]]; then
      status=${BASH_REMATCH[1]} wall=${BASH_REMATCH[2]}
    fi
    checksum=$(sed -n 's/^checksum \([0-9a-f]*\)$/\1/p' "$tmp/out" | head -n1)
    if [[ $status == ok && -z $checksum ]]; then status=no-checksum; fi
    # A run the library was not loaded into measured something else; a traced run must leave a
    # trace. Either is a failed run, out of the pairs.
    if [[ $status == ok ]] && grep -q 'cannot be preloaded' "$tmp/err"; then
      status=not-preloaded
    fi
    if [[ $c != glibc && $c != pool && $status == ok ]]; then
      if [[ $c == heaptrack ]]; then
        compgen -G "$tdir/ht.*" >/dev/null || status=no-trace
      else
        compgen -G "$tdir/ps.*" >/dev/null || status=no-trace
      fi
      if [[ $status == ok && -z ${T_SIZED[$w/$c]+x} ]]; then
        size_traces "$w" "$c" "$p"
        T_SIZED[$w/$c]=1
      fi
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "${W_LABEL[$w]}" "$c" "$p" "$status" "$wall" \
      "${checksum:--}" "${note:--}" >>"$tr_runs"
    # heaptrack always prints its stats on stderr; anything else a run says is worth a look.
    if [[ $c == heaptrack ]]; then
      grep -vE '^heaptrack stats:|^[[:space:]]*(allocations|leaked allocations|temporary allocations):' \
        "$tmp/err" >"$tmp/err.rest" || true
      mv "$tmp/err.rest" "$tmp/err"
    fi
    if [[ $status != ok || -s $tmp/err ]]; then tr_problem "$w" "$c" "$p" "$status" "$tmp/err"; fi
    rm -rf "$tdir"
    cell_status=$status cell_wall=$wall
  }

  tr_load_start=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "bench: tracing: ${#tr_workloads[@]} workloads × ${#tr_configs[@]} configurations ×" \
    "$tracing_runs passes ($( ((quick)) && echo quick || echo full) sizes), interleaved" >&2
  nconf=${#tr_configs[@]}
  for ((p = 0; p < tracing_runs; p++)); do
    for ((wi = 0; wi < ${#tr_workloads[@]}; wi++)); do
      w=${tr_workloads[wi]}
      progress="bench: tracing pass $((p + 1))/$tracing_runs ${W_LABEL[$w]}:"
      declare -A pass_wall=()
      # The same rotation as the allocator table: no configuration always first, none always
      # right after the same one.
      for ((k = 0; k < nconf; k++)); do
        if ((p % 2 == 0)); then
          c=${tr_configs[(k + p + wi) % nconf]}
        else
          c=${tr_configs[(nconf - 1 - k + p + wi) % nconf]}
        fi
        run_trace_cell "$w" "$c" "$p"
        if [[ $cell_status == ok ]]; then pass_wall[$c]=$cell_wall; fi
      done
      for c in "${tr_configs[@]}"; do
        if [[ -z ${pass_wall[$c]+x} ]]; then
          progress+=" $c failed"
        elif [[ -n ${T_BASE[$c]} && -n ${pass_wall[${T_BASE[$c]}]+x} ]]; then
          progress+=" $c $(awk -v a="${pass_wall[$c]}" -v b="${pass_wall[${T_BASE[$c]}]}" \
            'BEGIN { printf "%.2f×", (b > 0 ? a / b : 0) }')"
        else
          progress+=" $c $(printf '%.2f' "${pass_wall[$c]}")s"
        fi
      done
      unset pass_wall
      echo "$progress" >&2
    done
  done

  # Callgrind: instructions per small-churn iteration, traced and untraced (the writer thread's
  # compression and writes are the program's instructions too).
  if ((callgrind)) && [[ " ${tr_workloads[*]} " == *" small_churn "* ]]; then
    if command -v valgrind >/dev/null 2>&1; then
      if ((quick)); then small_iters=100000 big_iters=600000; else small_iters=200000 big_iters=1200000; fi
      for c in "${tr_configs[@]}"; do
        [[ $c != heaptrack ]] || continue
        irs=()
        for n in $small_iters $big_iters; do
          rm -rf "$tdir"
          mkdir "$tdir"
          tr_env_args "$c" "$tdir"
          "$measure" -q -t 900 -o "$tmp/cg.res" "${eargs[@]}" -- valgrind --tool=callgrind \
            --callgrind-out-file=/dev/null "$bin/bench_small_churn" "$n" 1000 \
            2>"$tmp/cg.err" || true
          irs+=("$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$tmp/cg.err" | head -n1)")
          if [[ $c != glibc && $c != pool ]] && ! compgen -G "$tdir/ps.*" >/dev/null; then
            tr_problem small_churn "$c (callgrind)" 0 "no trace written under valgrind" "$tmp/cg.err"
          fi
          rm -rf "$tdir"
        done
        printf '%s\t%s\t%s\t%s\t%s\n' "$c" "$small_iters" "${irs[0]}" "$big_iters" "${irs[1]}" \
          >>"$tr_cg"
        echo "bench: tracing callgrind $c: Ir ${irs[0]:-failed} / ${irs[1]:-failed}" >&2
      done
    else
      echo "bench: valgrind not installed, no instruction counts (scripts/setup.sh installs it)" >&2
    fi
  fi

  tr_versions=()
  if [[ -n $heaptrack ]]; then
    tr_versions+=("$("$heaptrack" --version 2>/dev/null | head -n1 | tr -d '\n')")
  fi
  if command -v valgrind >/dev/null 2>&1; then tr_versions+=("$(valgrind --version 2>/dev/null)"); fi
  tr_notes="load average at start $tr_load_start, at end $(cut -d' ' -f1-3 /proc/loadavg)"
  tr_notes+="; traces written to $(df --output=fstype "$tmp" 2>/dev/null | tail -n1 | tr -d ' ')"
  knobs=$(compgen -e | grep '^POOLSCOPE_' |
    grep -vE '^POOLSCOPE_(ENGINE|TRACE|OUTPUT)$' || true)
  for k in $knobs; do tr_notes+="; $k=${!k}"; done
  tr_mode="$( ((quick)) && echo "quick run (--quick: small sizes)" || echo "full run")"
  tr_mode+=", $tracing_runs interleaved pairs per cell, configuration order rotated every pass"
  tr_mode+=" and reversed every other"
  {
    section_meta "$tr_mode" "$tr_notes" "${tr_versions[@]}"
    echo "configs=${tr_configs[*]}"
    echo "pairs=$tracing_runs"
  } >"$tmp/tracing-meta.txt"

  echo >&2
  if ((alloc_table)); then echo; fi
  doc_args=()
  if ((write_doc)); then doc_args=(--doc "$root/docs/PERFORMANCE.md"); fi
  "$python" tests/bench/report.py tracing "$tr_runs" "$tr_sizes" "$tr_cg" "$tmp/tracing-meta.txt" \
    "${doc_args[@]}" || die "could not produce the tracing table"
  if [[ -s $tr_problems ]]; then
    echo
    echo "Tracing runs that failed, left no trace or wrote to stderr (first lines):"
    cat "$tr_problems"
  fi
fi

# =============================================================================================
# The report-speed section (issue 6): how fast the traces are turned into answers. One program
# (small churn, ≥ 10 M allocation and free calls; --quick: 2 M) is recorded once by poolscope
# (POOLSCOPE_TRACE=full, pool engine) and once by heaptrack. Then, three passes in rotating order,
# each timed end to end by the runner (wall time, peak RSS): `poolscope report TRACE` (text), the
# same with `--sysroot /nonexistent` (no module can be found, every frame stays module+offset: no
# symbolization), and `heaptrack_print -f TRACE.zst` (output to /dev/null). The difference of the
# two poolscope medians is the symbolization time. Events: allocations + frees + reallocs from
# `poolscope report`'s calls line; heaptrack's: allocations from heaptrack_print's summary, frees
# = allocations − leaked allocations (heaptrack's stats when recording), as in the tracing table.
if ((report)) && [[ -n $only_workloads && " ${workloads[*]} " != *" small_churn "* ]]; then
  echo "bench: small_churn not selected, no report-speed section" >&2
  report=0
fi
if ((report)) && [[ -z $cli ]]; then
  echo "bench: no poolscope CLI, no report-speed section" >&2
  report=0
fi
if ((report)); then
  rp_iters=$((quick ? 1000000 : 5000000))
  rp_passes=3
  rp_cmd=("$bin/bench_small_churn" "$rp_iters" 1000)
  rp_heaptrack=$(command -v heaptrack || true)
  rp_print=$(command -v heaptrack_print || true)
  if [[ -z $rp_heaptrack || -z $rp_print ]]; then
    echo "bench: heaptrack not installed, report-speed section without heaptrack_print" \
      "(scripts/setup.sh installs it)" >&2
    rp_heaptrack="" rp_print=""
  fi
  rdir=$tmp/report-traces
  rm -rf "$rdir"
  mkdir "$rdir"
  rp_runs=$tmp/report-runs.tsv rp_problems=$tmp/report-problems.log
  : >"$rp_runs"
  : >"$rp_problems"
  rp_flags=()
  rp_load_start=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "bench: report speed: recording ${rp_cmd[*]##*/} with poolscope and heaptrack" >&2

  # Recording (not timed here: the tracing table measures it).
  rp_scrub=("${scrub[@]}" -u POOLSCOPE_TRACE -u POOLSCOPE_OUTPUT)
  "$measure" -q -t 600 -o "$tmp/rp.res" "${rp_scrub[@]}" -e "LD_PRELOAD=$lib" \
    -e POOLSCOPE_ENGINE=pool -e POOLSCOPE_TRACE=full -e "POOLSCOPE_OUTPUT=$rdir/ps.%p.trace" \
    -- "${rp_cmd[@]}" 2>"$tmp/rp.err" || true
  ps_trace=$(compgen -G "$rdir/ps.*" | head -n1 || true)
  if [[ -z $ps_trace ]] || ! grep -q 'status=ok' "$tmp/rp.res" 2>/dev/null; then
    { echo "[poolscope recording] $(cat "$tmp/rp.res" 2>/dev/null)"
      head -n6 "$tmp/rp.err" | sed 's/^/    /'; } >>"$rp_problems"
    ps_trace=""
  fi
  ht_trace="" ht_leaked=""
  if [[ -n $rp_heaptrack ]]; then
    "$measure" -q -t 600 -o "$tmp/rp.res" "${scrub[@]}" -- \
      "$rp_heaptrack" -o "$rdir/ht" "${rp_cmd[@]}" 2>"$tmp/rp.err" || true
    ht_trace=$(compgen -G "$rdir/ht.*" | head -n1 || true)
    ht_leaked=$(sed -n 's/^[[:space:]]*leaked allocations:[[:space:]]*\([0-9]*\).*/\1/p' \
      "$tmp/rp.err" | head -n1)
    if [[ -z $ht_trace ]] || ! grep -q 'status=ok' "$tmp/rp.res" 2>/dev/null; then
      { echo "[heaptrack recording] $(cat "$tmp/rp.res" 2>/dev/null)"
        head -n6 "$tmp/rp.err" | sed 's/^/    /'; } >>"$rp_problems"
      ht_trace=""
    fi
  fi

  # Events in each trace, counted by each tool itself (untimed runs).
  ps_events="" ht_events="" ps_bytes="" ht_bytes=""
  if [[ -n $ps_trace ]]; then
    ps_bytes=$(stat -c %s "$ps_trace")
    out=$("$cli" report "$ps_trace" 2>&1 || true)
    if [[ $out =~ calls\ +([0-9]+)\ allocations,\ ([0-9]+)\ frees,\ ([0-9]+)\ reallocs ]]; then
      ps_events=$((BASH_REMATCH[1] + BASH_REMATCH[2] + BASH_REMATCH[3]))
    else
      echo "[poolscope report] no calls line: $(head -n1 <<<"$out")" >>"$rp_problems"
    fi
    if grep -qiE 'truncated|no end record|damaged|skipped' <<<"$out"; then
      rp_flags+=("poolscope trace: $(grep -iE 'truncated|no end record|damaged|skipped' <<<"$out" |
        head -n1 | tr -s ' ' | cut -c1-80)")
    fi
  fi
  if [[ -n $ht_trace ]]; then
    ht_bytes=$(stat -c %s "$ht_trace")
    calls=$("$rp_print" -f "$ht_trace" -p 0 -a 0 -T 0 2>/dev/null |
      sed -n 's/^calls to allocation functions: \([0-9]*\).*/\1/p' | head -n1)
    if [[ -n $calls ]]; then
      ht_events=$((2 * calls - ${ht_leaked:-0}))
      if [[ -z $ht_leaked ]]; then
        rp_flags+=("heaptrack printed no leaked count: its frees taken = allocations")
      fi
    else
      echo "[heaptrack_print] no summary line" >>"$rp_problems"
    fi
  fi

  rp_configs=()
  if [[ -n $ps_trace ]]; then rp_configs+=(poolscope poolscope-nosym); fi
  if [[ -n $ht_trace ]]; then rp_configs+=(heaptrack_print); fi
  nrc=${#rp_configs[@]}
  for ((p = 0; p < rp_passes && nrc > 0; p++)); do
    progress="bench: report pass $((p + 1))/$rp_passes:"
    for ((k = 0; k < nrc; k++)); do
      if ((p % 2 == 0)); then c=${rp_configs[(k + p) % nrc]}; else c=${rp_configs[(nrc - 1 - k + p) % nrc]}; fi
      case $c in
        poolscope) cmd=("$cli" report "$ps_trace") ;;
        poolscope-nosym) cmd=("$cli" report "$ps_trace" --sysroot /nonexistent) ;;
        heaptrack_print) cmd=("$rp_print" -f "$ht_trace") ;;
      esac
      rm -f "$tmp/res"
      # -q: the output goes to /dev/null (poolscope's text is written and counted all the same).
      "$measure" -q -t 600 -o "$tmp/res" "${scrub[@]}" -u DEBUGINFOD_URLS -- "${cmd[@]}" \
        2>"$tmp/err" || true
      line=$(cat "$tmp/res" 2>/dev/null || true)
      status=runner-failed wall=0 rss=0
      if [[ $line =~ status=([^ ]+)\ wall_s=([^ ]+)\ user_s=([^ ]+)\ sys_s=([^ ]+)\ maxrss_kb=([0-9]+) ]]; then
        status=${BASH_REMATCH[1]} wall=${BASH_REMATCH[2]} rss=${BASH_REMATCH[5]}
      fi
      printf '%s\t%s\t%s\t%s\t%s\n' "$c" "$p" "$status" "$wall" "$rss" >>"$rp_runs"
      # The unresolved run names every module it cannot open, and heaptrack_print chats: expected.
      if [[ $c == poolscope-nosym ]]; then
        grep -v 'its frames are left unresolved' "$tmp/err" >"$tmp/err.rest" || true
        mv "$tmp/err.rest" "$tmp/err"
      fi
      if [[ $status != ok || ( $c == poolscope && -s $tmp/err ) ]]; then
        if ! grep -qF "[$c]" "$rp_problems"; then
          { echo "[$c] pass $p: $status"; head -n6 "$tmp/err" | sed 's/^/    /'; } >>"$rp_problems"
        fi
      fi
      progress+=" $c $( [[ $status == ok ]] && printf '%.2fs' "$wall" || echo "$status")"
    done
    echo "$progress" >&2
  done
  rm -rf "$rdir"

  rp_versions=()
  if [[ -n $rp_heaptrack ]]; then
    rp_versions+=("$("$rp_heaptrack" --version 2>/dev/null | head -n1 | tr -d '\n')")
  fi
  rp_notes="load average at start $rp_load_start, at end $(cut -d' ' -f1-3 /proc/loadavg)"
  rp_notes+="; traces read from $(df --output=fstype "$tmp" 2>/dev/null | tail -n1 | tr -d ' ')"
  rp_notes+=" (page cache warm: each trace was just written)"
  rp_mode="$( ((quick)) && echo "quick run (--quick: smaller trace)" || echo "full run")"
  rp_mode+=", median of $rp_passes runs per tool, order rotated every pass and reversed every other"
  {
    section_meta "$rp_mode" "$rp_notes" "${rp_versions[@]}"
    echo "program=bench_small_churn $rp_iters 1000"
    echo "passes=$rp_passes"
    echo "poolscope_events=$ps_events"
    echo "poolscope_bytes=$ps_bytes"
    echo "heaptrack_events=$ht_events"
    echo "heaptrack_bytes=$ht_bytes"
    joined=$(IFS=$'\x1f'; echo "${rp_flags[*]:-}")
    echo "flags=${joined//$'\x1f'/; }"
  } >"$tmp/report-meta.txt"

  echo >&2
  if ((alloc_table || tracing)); then echo; fi
  doc_args=()
  if ((write_doc)); then doc_args=(--doc "$root/docs/PERFORMANCE.md"); fi
  "$python" tests/bench/report.py report "$rp_runs" "$tmp/report-meta.txt" "${doc_args[@]}" ||
    die "could not produce the report-speed section"
  if [[ -s $rp_problems ]]; then
    echo
    echo "Report-speed runs that failed or wrote to stderr (first lines):"
    cat "$rp_problems"
  fi
fi

elapsed=$(($(date +%s) - started))
echo >&2
echo "bench: done in $((elapsed / 60))m$((elapsed % 60))s$( ((write_doc)) &&
  echo "; written to docs/PERFORMANCE.md")" >&2
exit 0
