#!/usr/bin/env bash
# Installs, with the npm already on the machine, the npm packages the export tests read the
# exported files back with — pinned versions, into DIR (a directory of the build tree) — unless
# they are there already. Tests run in parallel: one installs, the others wait for it.
# Usage: npm_deps.sh DIR. Exit 0 when DIR/node_modules holds them; 1, with the reason, if not.
set -euo pipefail
dir=${1:?usage: npm_deps.sh DIR}
packages=(pprof-format@2.3.2 speedscope@1.25.0 ajv@8.20.0)
want="${packages[*]}"
ready() { [[ -f $dir/installed && $(cat "$dir/installed") == "$want" ]]; }
ready && exit 0
command -v npm >/dev/null || { echo "no npm on this machine"; exit 1; }
mkdir -p "$dir"
(
  flock 9
  if ! ready; then
    # A package.json of its own, so that a later install never prunes these as extraneous.
    [[ -f $dir/package.json ]] || echo '{"private": true}' >"$dir/package.json"
    if timeout 50 npm install --prefix "$dir" --no-audit --no-fund --ignore-scripts \
         --loglevel=error --fetch-retries=1 --fetch-timeout=20000 "${packages[@]}" \
         >"$dir/npm.log" 2>&1; then
      echo "$want" >"$dir/installed"
    fi
  fi
) 9>"$dir/.lock"
ready || { echo "npm install failed: $(head -3 "$dir/npm.log" 2>/dev/null | tr '\n' ' ')"; exit 1; }
