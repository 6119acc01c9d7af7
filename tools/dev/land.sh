#!/usr/bin/env bash
# Lands the current branch on the main checkout by fast-forward, after a rebase onto main.
#
#   tools/dev/land.sh [MAIN_CHECKOUT]      (default /work/main)
#
# Refuses when the worktree has uncommitted changes, and when the branch deletes a file or
# deletes more lines of a file than it adds (more than 5): commits made from a stale tree and
# then rebased can silently revert other people's work without any conflict (efaf1a0 undid
# c288f85 that way). Set OBLAKO_LAND_OK_DELETIONS=1 when the deletions are meant.
set -euo pipefail
main="${1:-/work/main}"
branch="$(git rev-parse --abbrev-ref HEAD)"
[[ "$branch" != HEAD && "$branch" != main ]] || { echo "land: check out your own branch first" >&2; exit 2; }
if [[ -n "$(git status --porcelain --untracked-files=no)" ]]; then
  echo "land: commit or stash your changes first:" >&2; git status --short --untracked-files=no >&2; exit 2
fi
exec 9>/tmp/oblako-land.lock
flock 9
git rebase main
echo "== what lands on main ($(git rev-list --count main..HEAD) commits):"
git diff --stat main HEAD | tail -n 40
suspect="$(git diff --numstat main HEAD | awk '$1 != "-" && $2 > $1 && $2 > 5 { print "  " $3 ": +" $1 " -" $2 }')"
deleted="$(git diff --diff-filter=D --name-only main HEAD | sed 's/^/  deleted: /')"
if [[ -n "$suspect$deleted" && "${OBLAKO_LAND_OK_DELETIONS:-0}" != 1 ]]; then
  echo "land: refused; these files lose more than they gain (a stale tree reverting someone's work?):" >&2
  [[ -n "$suspect" ]] && echo "$suspect" >&2
  [[ -n "$deleted" ]] && echo "$deleted" >&2
  echo "land: if that is meant, run again with OBLAKO_LAND_OK_DELETIONS=1" >&2
  exit 1
fi
git -C "$main" merge --ff-only "$branch"
echo "land: main is now $(git -C "$main" log --oneline -1)"
