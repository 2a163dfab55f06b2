#!/usr/bin/env bash
# Builds the trace-reader fuzzer with clang++ and libFuzzer (ASan + UBSan) in its own
# directory — the main build uses g++, so it cannot be a target of the meson project — seeds
# its corpus with valid traces and runs it briefly.
#
# Usage: build_and_run.sh [WORK_DIR [LIBPOOLSCOPE_SO]]
#   WORK_DIR         where the fuzzer, the corpus and any crash inputs go (default: a temp dir)
#   LIBPOOLSCOPE_SO  when given, a trace of /bin/true recorded with it joins the corpus
# Environment: FUZZ_SECONDS (default 20), CXX_FUZZ (default clang++).
# Exit: 0 clean run, 77 skipped (no clang++ or libFuzzer), 1 build failure or a crash found
# (the input is left in WORK_DIR as crash-*, leak-*, timeout-* or oom-*).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${1:-}"
lib="${2:-}"
seconds="${FUZZ_SECONDS:-20}"
cxx="${CXX_FUZZ:-clang++}"

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "SKIP: $cxx not found (scripts/setup.sh installs clang)"
  exit 77
fi
if [[ -z "$work" ]]; then
  work="$(mktemp -d /tmp/poolscope-fuzz.XXXXXX)"
fi
mkdir -p "$work"
work="$(cd "$work" && pwd)"

# libFuzzer ships with clang's compiler-rt: check it links before building anything real.
probe="$work/probe.cc"
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  >"$probe"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe" -o "$work/probe" 2>"$work/probe.log"; then
  echo "SKIP: $cxx cannot link -fsanitize=fuzzer,address,undefined (no libFuzzer?):"
  head -3 "$work/probe.log"
  exit 77
fi

absl_libs="$(pkg-config --libs absl_flat_hash_map absl_strings absl_str_format absl_status \
  absl_statusor)"
absl_cflags="$(pkg-config --cflags absl_flat_hash_map absl_strings absl_str_format \
  absl_status absl_statusor)"
zstd_libs="$(pkg-config --libs libzstd 2>/dev/null || echo -lzstd)"

common=(-std=c++20 -g -O1 -fno-omit-frame-pointer -I"$root/include" -I"$root/src"
        -I"$root/tools/poolscope" $absl_cflags)

echo "== building the fuzzer in $work"
# The reader (with its progress bar, off here) and the heap model, exactly as the tools build
# them; nothing else is needed.
"$cxx" "${common[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  "$here/trace_reader_fuzzer.cc" "$root/tools/poolscope/trace_reader.cc" \
  "$root/tools/poolscope/progress.cc" "$root/tools/poolscope/summary.cc" \
  $absl_libs $zstd_libs -o "$work/trace_reader_fuzzer"

echo "== seeding the corpus"
# The seed generator uses the unit tests' TraceBuilder and the recorder's writer.
"$cxx" "${common[@]}" -I"$root/tests/unit" "$here/make_seeds.cc" \
  "$root/src/trace/trace_file.cc" "$root/src/common/log.cc" $zstd_libs -o "$work/make_seeds"
corpus="$work/corpus"
mkdir -p "$corpus"
"$work/make_seeds" "$corpus"
if [[ -n "$lib" && -f "$lib" ]]; then
  if POOLSCOPE_TRACE=full POOLSCOPE_OUTPUT="$corpus/recorded-true" LD_PRELOAD="$lib" /bin/true \
      && [[ -s "$corpus/recorded-true" ]]; then
    echo "recorded /bin/true with $lib"
  else
    echo "note: could not record /bin/true with $lib; going on with the built seeds"
    rm -f "$corpus/recorded-true"
  fi
fi
ls -l "$corpus"

echo "== fuzzing for ${seconds} s"
cd "$work"
set +e
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
  "$work/trace_reader_fuzzer" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=20 \
  -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/" "$corpus"
status=$?
set -e
if [[ $status -ne 0 ]]; then
  echo "FAIL: the fuzzer found a problem (exit $status); inputs:"
  ls -l "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null || true
  exit 1
fi
echo "OK: no crash in ${seconds} s"
