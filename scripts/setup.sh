#!/usr/bin/env bash
# Installs poolscope's build, test and benchmark dependencies: Debian packages, then the npm
# packages the tests read exported files back with (pinned, into this checkout's .npm-deps,
# which git ignores). Checks what is there first and installs only what is missing, so a second
# run is quick.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

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

install_debian_packages() {
  if ((${#missing[@]} == 0)); then
    echo "setup: all ${#packages[@]} packages present"
    return
  fi
  echo "setup: installing ${missing[*]}"
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  # libunwind-dev replaces the image's libunwind-14-dev (both ship libunwind.h); apt removes it.
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  echo "setup: done"
}

# Read by tests/integration/cli/cli.sh from $repo/.npm-deps/node_modules: pprof-format decodes
# the pprof export, speedscope ships the schema its export is validated against, ajv validates
# JSON against schemas.
npm_dir=$repo/.npm-deps
npm_packages=(pprof-format@2.3.2 speedscope@1.25.0 ajv@8.20.0)

# Each pinned package is in $npm_dir at its version.
npm_packages_present() {
  command -v node >/dev/null &&
    node -e '
      const [dir, ...wanted] = process.argv.slice(1);
      for (const spec of wanted) {
        const at = spec.lastIndexOf("@");
        try {
          const json = require(`${dir}/node_modules/${spec.slice(0, at)}/package.json`);
          if (json.version !== spec.slice(at + 1)) process.exit(1);
        } catch (e) {
          process.exit(1);
        }
      }' "$npm_dir" "${npm_packages[@]}"
}

# Not fatal when npm or the registry is out of reach: the tests that need these skip, saying so.
install_npm_packages() {
  if npm_packages_present; then
    echo "setup: npm packages present (${npm_packages[*]})"
    return
  fi
  if ! command -v npm >/dev/null; then
    echo "setup: no npm; tests needing ${npm_packages[*]} will be skipped" >&2
    return
  fi
  echo "setup: installing ${npm_packages[*]} into $npm_dir"
  mkdir -p "$npm_dir"
  # A package.json of its own: npm would otherwise look for one in the directories above.
  [[ -f $npm_dir/package.json ]] || echo '{"private": true}' >"$npm_dir/package.json"
  if npm install --prefix "$npm_dir" --no-audit --no-fund --ignore-scripts --loglevel=error \
       --fetch-retries=2 --fetch-timeout=30000 "${npm_packages[@]}" >"$npm_dir/npm.log" 2>&1 &&
     npm_packages_present; then
    echo "setup: done"
  else
    echo "setup: npm install failed; tests needing these packages will be skipped:" \
      "$(tail -3 "$npm_dir/npm.log" | tr '\n' ' ')" >&2
  fi
}

install_debian_packages
install_npm_packages
