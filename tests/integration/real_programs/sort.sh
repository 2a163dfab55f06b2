#!/usr/bin/env bash
# coreutils sort on a ~100 MB generated file: in memory, with a 50 MB buffer that forces
# temporary files and merges, and by numeric key. The sorted files must be byte-identical with
# and without the library.
source "$(dirname "$0")/../harness.sh"

export LC_ALL=C TZ=UTC
input="$WORK/input.txt"
# 2.6 million lines, ~100 MB, from a seeded generator: the same bytes on every run of this test
# (the file is generated once and both runs read it).
awk -v seed=20240607 -v lines=2600000 'BEGIN {
  srand(seed)
  letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
  for (i = 0; i < lines; i++) {
    key = ""
    n = 4 + int(rand() * 12)
    for (j = 0; j < n; j++) key = key substr(letters, 1 + int(rand() * 62), 1)
    printf "%s\t%d\t%.6f\t%s\n", key, int(rand() * 1000000), rand() * 1000, (i % 97 == 0 ? "dup" : "row" i)
  }
}' >"$input"
bytes=$(stat -c %s "$input")
((bytes > 95000000)) || fail "generated input is only $bytes bytes"
lines=$(wc -l <"$input")

# sort_case NAME SORT-ARGS...: sorts $input into NAME.txt in the run directory, plain and
# preloaded, checks the result is sorted and complete, then drops the 2 x 100 MB of output.
sort_case() {
  local name=$1
  shift
  compare_runs "sort-$name" bash -c 'mkdir tmp && sort "${@:2}" -T tmp -o "$1.txt" "$0"' \
    "$input" "$name" "$@"
  local plain="$WORK/sort-$name.plain"
  [[ $(cat "$plain/status") == 0 ]] || fail "sort $name exited $(cat "$plain/status"): $(head -5 "$plain/stderr")"
  [[ $(wc -l <"$plain/files/$name.txt") == "$lines" ]] || fail "sort $name lost lines"
  sort -c "$@" "$plain/files/$name.txt" || fail "sort $name output is not sorted"
  awk '{ print $1 }' "$plain/files.sha256" >"$WORK/$name.sha256"
  rm -rf "$plain/files" "$WORK/sort-$name.preloaded/files"
}

sort_case memory --parallel=2
# 50 MB of buffer for 100 MB of input: sort writes sorted runs to tmp/ and merges them.
sort_case merged --parallel=2 -S 50M
sort_case by-key --parallel=2 -S 50M -t "$(printf '\t')" -k2,2n -k1,1

cmp -s "$WORK/memory.sha256" "$WORK/merged.sha256" ||
  fail "sorting in memory and by merging gave different files"
