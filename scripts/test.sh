#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds poolscope and runs the whole test suite.
# Extra arguments go to `meson test` (e.g. --suite unit, or a test name).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
build=${POOLSCOPE_BUILD_DIR:-build}
if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build"
fi
meson compile -C "$build"

rc=0
meson test -C "$build" --print-errorlogs "$@" || rc=$?

# One closing line in the plain "N passed, N failed" form that CI logs are read for.
/usr/bin/python3 - "$build/meson-logs/testlog.json" <<'PY' || true
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0, "TIMEOUT": 0, "ERROR": 0, "EXPECTEDFAIL": 0,
          "UNEXPECTEDPASS": 0}
with open(sys.argv[1]) as log:
    for line in log:
        result = json.loads(line).get("result", "ERROR")
        counts[result] = counts.get(result, 0) + 1
passed = counts["OK"] + counts["EXPECTEDFAIL"]
failed = counts["FAIL"] + counts["TIMEOUT"] + counts["ERROR"] + counts["UNEXPECTEDPASS"]
print(f"tests: {passed} passed, {failed} failed, {counts['SKIP']} skipped")
PY
exit $rc
