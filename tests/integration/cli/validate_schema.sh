# Validates JSON files against a JSON Schema with the npm package ajv, installed on first use
# into DIR (a directory of the build tree), with the npm already on the machine.
# Usage: validate_schema.sh DIR SCHEMA FILE...
# Exit: 0 valid, 1 invalid, 77 (meson's skip) when node or ajv cannot be had, with the reason.
set -euo pipefail
dir=$1
shift
command -v node >/dev/null || { echo "SKIP: no node on this machine"; exit 77; }
command -v npm >/dev/null || { echo "SKIP: no npm on this machine"; exit 77; }
mkdir -p "$dir"
if [[ ! -f $dir/node_modules/ajv/dist/2020.js ]]; then
  # Tests run in parallel: one installs, the others wait for it.
  (
    flock 9
    if [[ ! -f $dir/node_modules/ajv/dist/2020.js ]]; then
      # Bounded, so that a registry out of reach makes a skip and not a test timeout.
      timeout 40 npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error \
        --fetch-timeout=15000 --fetch-retries=1 ajv@8 >"$dir/npm.log" 2>&1 ||
        echo "npm install failed or timed out (status $?)" >>"$dir/npm.log"
    fi
  ) 9>"$dir/.lock"
fi
if [[ ! -f $dir/node_modules/ajv/dist/2020.js ]]; then
  echo "SKIP: could not install the npm package ajv into $dir:" \
    "$(grep -v -e 'complete log' -e 'proxy' "$dir/npm.log" 2>/dev/null | head -3 | tr '\n' ' ')"
  exit 77
fi
exec node "$(dirname "$0")/validate_schema.js" "$dir/node_modules" "$@"
