#!/usr/bin/env bash
# Benchmarks poolscope's pool engine against glibc (also with its huge-page tunable), jemalloc,
# tcmalloc and mimalloc on the workloads of tests/bench/, and prints one table; a complete run
# also writes it into docs/PERFORMANCE.md between the bench markers. See docs/PERFORMANCE.md.
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
  --quick          smaller sizes and 3 runs per cell (under 5 minutes)
  --runs N         runs per cell (default 5; 3 with --quick)
  --workloads      only these workloads: small_churn larson prodcons mixed big_arrays
                   containers python python_malloc gcc
  --allocators     only these allocators: glibc glibc-thp jemalloc tcmalloc mimalloc pool
  --no-callgrind   skip the callgrind instruction counts
  --no-doc         do not write docs/PERFORMANCE.md (a run limited by --workloads or
                   --allocators never writes it)
  --micro          run the Google Benchmark micro-benchmarks under every allocator instead
Environment: POOLSCOPE_BUILD_DIR (default build); POOLSCOPE_* knobs other than
POOLSCOPE_ENGINE reach the pool runs unchanged.
EOF
}

die() {
  echo "bench: $*" >&2
  exit 1
}

quick=0 runs="" only_workloads="" only_allocators="" callgrind=1 write_doc=1 micro=0
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
    -h | --help) usage; exit 0 ;;
    *) echo "bench: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [[ -z $runs ]]; then runs=$((quick ? 3 : 5)); fi
if ! [[ $runs =~ ^[1-9][0-9]*$ ]]; then echo "bench: --runs needs a positive number" >&2; exit 2; fi
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
targets=(src/poolscope:shared_library tests/bench/measure)
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
# The machine line and the rest of the header, then the table.
thp_mode() {  # FILE -> the bracketed choice
  sed -n 's/.*\[\([^]]*\)\].*/\1/p' "$1" 2>/dev/null || echo "?"
}
cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n1)
mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
glibc_version=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ print $2 }')
thp="enabled=$(thp_mode /sys/kernel/mm/transparent_hugepage/enabled)"
thp+=" defrag=$(thp_mode /sys/kernel/mm/transparent_hugepage/defrag)"
versions=()
for pkg in libjemalloc2:jemalloc libtcmalloc-minimal4:tcmalloc libmimalloc2.0:mimalloc; do
  v=$(dpkg-query -W -f='${Version}' "${pkg%%:*}" 2>/dev/null || true)
  if [[ -n $v ]]; then versions+=("${pkg#*:} $v"); fi
done
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain -- src include meson.build 2>/dev/null) ]]; then
  commit+=" (library sources with uncommitted changes)"
fi
notes="load average at start $load_start, at end $(cut -d' ' -f1-3 /proc/loadavg)"
knobs=$(compgen -e | grep '^POOLSCOPE_' | grep -v '^POOLSCOPE_ENGINE$' || true)
for k in $knobs; do notes+="; $k=${!k}"; done
mode="$( ((quick)) && echo "quick run (--quick: small sizes)" || echo "full run")"
mode+=", $runs runs per cell, medians, allocator order rotated every pass and reversed every other"
{
  echo "machine=$cpu, $(nproc) cores, $mem, Linux $(uname -r), glibc $glibc_version, THP $thp"
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "mode=$mode"
  echo "commit=$commit"
  joined=$(IFS=,; echo "${versions[*]}")
  echo "versions=${joined//,/, }"
  echo "notes=$notes"
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
elapsed=$(($(date +%s) - started))
echo >&2
echo "bench: done in $((elapsed / 60))m$((elapsed % 60))s$( ((write_doc)) &&
  echo "; table written to docs/PERFORMANCE.md")" >&2
exit 0
