#!/usr/bin/env bash
# Installs poolscope's build, test and benchmark dependencies from Debian packages.
# Checks each package with `dpkg -s` and installs only what is missing, so a second run is quick.
set -euo pipefail

packages=(
  # build
  meson ninja-build g++ pkg-config
  # libraries linked by the preload library and the CLI
  libjemalloc-dev libunwind-dev libabsl-dev libdw-dev libzstd-dev
  # tests and micro-benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # the trace-reader fuzzer (tests/fuzz): clang++ with libFuzzer and the sanitizer runtimes
  clang libclang-rt-dev
  # real programs the integration tests run under the library
  sqlite3 git python3 gcc coreutils bash
  # recorder tests: heaptrack, whose counts the recorder's are checked against
  heaptrack
  # benchmarks: the allocators scripts/bench.sh compares against, callgrind, hyperfine
  libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0 valgrind hyperfine
  # report tests: the HTML report is rendered in headless Chromium
  chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg -s "$p" >/dev/null 2>&1 ||
     ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$p")
  fi
done
# Node.js and npm come with the image from another source; Debian's npm conflicts with it.
if ! command -v node >/dev/null 2>&1; then
  dpkg -s nodejs >/dev/null 2>&1 || missing+=(nodejs npm)
fi

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# libunwind-dev replaces the image's libunwind-14-dev (both ship libunwind.h); apt removes it.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
