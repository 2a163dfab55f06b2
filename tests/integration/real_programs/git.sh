#!/usr/bin/env bash
# git init/add/commit/log/gc in a repository inside $RUN_DIR: git and every git subprocess it
# spawns run under the library. Object files, refs, reflogs, packs and output must be identical
# with and without it.
source "$(dirname "$0")/../harness.sh"

command -v git >/dev/null || skip "git is not installed"

# Fixed identity and dates; no system or user configuration (HOME is an empty directory that
# each run creates for itself).
export LC_ALL=C TZ=UTC
export GIT_AUTHOR_NAME="Poolscope Test" GIT_AUTHOR_EMAIL="test@poolscope.invalid"
export GIT_COMMITTER_NAME="Poolscope Test" GIT_COMMITTER_EMAIL="test@poolscope.invalid"
export GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 GIT_PAGER=cat PAGER=cat
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE XDG_CONFIG_HOME

compare_runs git bash -c '
  set -euo pipefail
  mkdir home
  export HOME=$PWD/home XDG_CONFIG_HOME=$PWD/home/.config
  # The index records inode numbers and ctimes of the work tree: facts about this filesystem,
  # not git output. Keep it next to, not inside, the compared directory.
  export GIT_INDEX_FILE=$PWD/../git-index
  git -c init.defaultBranch=main init -q repo
  cd repo
  git config core.autocrlf false
  git config pack.threads 1
  git config gc.auto 0
  for c in $(seq 1 12); do
    export GIT_AUTHOR_DATE="2024-01-$((10 + c))T12:00:00Z" GIT_COMMITTER_DATE="2024-01-$((10 + c))T12:30:00Z"
    mkdir -p "dir$((c % 3))"
    for f in $(seq 1 $((c * 3))); do
      printf "commit %d file %d\n%s\n" "$c" "$f" "$(seq -s, "$f" $((f + c * 20)))" >"dir$((c % 3))/file$f.txt"
    done
    seq 0 1999 | sed "s/.*/line & of commit $c/" >big.txt
    git add -A
    git commit -q -m "commit $c" -m "Touches $((c * 3)) files."
  done
  git tag -a v1.0 -m "release 1.0"
  git branch topic HEAD~4
  git log -n 6 --stat --format="%H %an <%ae> %ad %s" --date=iso-strict
  git log --graph --oneline --all
  git shortlog -sn
  git diff --stat HEAD~5 HEAD
  git show -s --format=%B HEAD~3
  git rev-list --count --all
  git gc -q --prune=now
  git count-objects -v
  git fsck --full --strict 2>&1
' git-steps

plain="$WORK/git.plain"
[[ $(cat "$plain/status") == 0 ]] || fail "git steps exited $(cat "$plain/status"): $(head -5 "$plain/stderr")"
grep -qx 12 "$plain/stdout" || fail "git rev-list did not count 12 commits"
grep -q '^[0-9a-f]\{40\} Poolscope Test <test@poolscope.invalid> 2024-01-22T12:00:00+00:00 commit 12$' \
  "$plain/stdout" || fail "git log does not show the last commit with its fixed date"
grep -q '\./repo/\.git/objects/pack/pack-[0-9a-f]*\.pack$' "$plain/files.sha256" || fail "git gc wrote no pack"
