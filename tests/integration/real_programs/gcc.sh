#!/usr/bin/env bash
# gcc (cc1, as, collect2, ld: every stage is preloaded, through exec) compiles a C file from
# this folder and a large generated one to object files, links an executable, and the test runs
# it. Objects and executable must be byte-identical with and without the library, and so must
# the program's output.
source "$(dirname "$0")/../harness.sh"

here=$(cd "$(dirname "$0")" && pwd)
command -v gcc >/dev/null || skip "gcc is not installed"
export LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=0

# Generated once, outside the compared directories, so both runs compile the same file.
"$PYTHON" "$here/gen_c.py" 400 >"$WORK/generated.c"

# -frandom-seed fixes the names gcc would otherwise randomise; no -g, so no build directory is
# recorded; -pipe keeps temporaries out of the picture.
cflags=(-O2 -pipe -Wall -Werror -frandom-seed=poolscope -DWITH_GENERATED)
compare_runs gcc bash -c '
  set -e
  gcc "${@:3}" -c "$1" -o program.o
  gcc "${@:3}" -c "$2" -o generated.o
  gcc program.o generated.o -o program
  ./program
' gcc-steps "$here/program.c" "$WORK/generated.c" "${cflags[@]}"

plain="$WORK/gcc.plain"
[[ $(cat "$plain/status") == 0 ]] || fail "gcc steps exited $(cat "$plain/status"): $(head -5 "$plain/stderr")"
for f in program.o generated.o program; do
  grep -q " \./$f\$" "$plain/files.sha256" || fail "gcc did not produce $f"
done
grep -q '^distinct words: [0-9]' "$plain/stdout" || fail "the compiled program printed nothing useful"
grep -q '^generated checksum: [0-9]' "$plain/stdout" || fail "the generated code did not run"
