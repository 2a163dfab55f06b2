# Sourced by nothing: run by bash.sh as `bash workload.bash` in an empty directory.
# Arrays, associative arrays, string operations, subshells, command substitution, functions and
# here-documents, each checked, so a broken bash fails here rather than only differing.
set -euo pipefail
RANDOM=4242 # a seeded generator gives the same sequence on every run

check() { # check WHAT EXPECTED ACTUAL
  if [[ $2 != "$3" ]]; then
    echo "check failed: $1: expected '$2', got '$3'" >&2
    exit 1
  fi
}

# Indexed arrays: build, splice, sort through a pipeline, sum.
declare -a nums=()
for ((i = 0; i < 3000; i++)); do nums+=($(((i * 7919 + RANDOM) % 10007))); done
check "array length" 3000 "${#nums[@]}"
sum=0
for n in "${nums[@]}"; do ((sum += n)); done
echo "sum of ${#nums[@]} numbers: $sum"
sorted=($(printf '%s\n' "${nums[@]}" | sort -n))
check "sorted length" 3000 "${#sorted[@]}"
echo "min ${sorted[0]} max ${sorted[-1]} median ${sorted[1500]}"
slice=("${nums[@]:100:5}")
echo "slice: ${slice[*]}"
unset 'nums[10]' 'nums[20]'
check "after unset" 2998 "${#nums[@]}"

# Associative arrays: word frequencies.
declare -A freq=()
words=()
letters=abcdef
for ((i = 0; i < 4000; i++)); do
  w=""
  for ((j = 0; j < 1 + RANDOM % 4; j++)); do w+=${letters:RANDOM % 6:1}; done
  words+=("$w")
  freq[$w]=$((${freq[$w]:-0} + 1))
done
total=0
for k in "${!freq[@]}"; do ((total += freq[$k])); done
check "frequency total" 4000 "$total"
echo "distinct words: ${#freq[@]}"
for k in $(printf '%s\n' "${!freq[@]}" | sort | head -8); do echo "  $k=${freq[$k]}"; done

# String operations.
s="The quick brown fox jumps over the lazy dog"
check "length" 43 "${#s}"
check "upper" "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG" "${s^^}"
check "replace all" "The quick brown cat jumps over the lazy cat" "$(t=${s//fox/cat}; echo "${t//dog/cat}")"
check "substring" "brown" "${s:10:5}"
check "strip prefix" "jumps over the lazy dog" "${s#*fox }"
check "strip suffix" "The quick" "${s%% brown*}"
long=""
for ((i = 0; i < 2000; i++)); do long+="${words[i]}-"; done
echo "long string: ${#long} chars, ends ${long: -12}"
IFS=- read -r -a parts <<<"$long"
check "split count" 2000 "${#parts[@]}"

# Subshells and command substitution, nested.
outer=$(
  inner=$(for i in {1..50}; do echo "line $i"; done | wc -l)
  echo "inner=$inner"
  (cd / && echo "subshell pwd=$PWD")
)
echo "$outer"
check "subshell isolation" "$(pwd)" "$PWD"
counts=()
for i in {1..40}; do counts+=("$(seq 1 "$i" | awk '{ s += $1 } END { print s }')"); done
echo "triangular: ${counts[*]:0:10} ... ${counts[-1]}"
check "triangular 40" 820 "${counts[-1]}"

# Functions, recursion, local variables.
fib() {
  local n=$1
  if ((n < 2)); then
    echo "$n"
  else
    local a b
    a=$(fib $((n - 1)))
    b=$(fib $((n - 2)))
    echo $((a + b))
  fi
}
check "fib 15" 610 "$(fib 15)"

# Here-documents, process substitution and a file in the working directory.
cat >report.txt <<REPORT
sum=$sum
distinct=${#freq[@]}
$(for k in $(printf '%s\n' "${!freq[@]}" | sort); do echo "$k ${freq[$k]}"; done)
REPORT
lines=0
while read -r _; do ((++lines)); done < <(cat report.txt)
echo "report.txt: $lines lines"
check "report lines" $((${#freq[@]} + 2)) "$lines"
echo "done: all checks passed"
