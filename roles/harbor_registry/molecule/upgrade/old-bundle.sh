#!/usr/bin/env bash
# The offline bundle of an earlier commit of main, for the upgrade test:
#
#   old-bundle.sh COMMIT     -> prints the bundle's path, build/bundle-old/FULL_HASH/...tar.gz
#
# The commit is checked out with `git worktree add` into a temporary folder, built by this
# tree's scripts/build-bundle.sh (--source, --out) and the worktree removed again. The bundle
# is kept under build/ keyed by the commit's full hash and reused by later runs.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
root=$PWD
commit=$(git rev-parse --verify "${1:?usage: old-bundle.sh COMMIT}^{commit}")
out=$root/build/bundle-old/$commit
bundle=$out/harbor-twisted-bundle.tar.gz
mkdir -p "$out"

exec 9>"$out/.lock"
flock 9
if [[ ! -e $bundle ]]; then
  tmp=$(mktemp -d /var/tmp/ht-old-bundle.XXXXXX)
  trap 'git -C "$root" worktree remove --force "$tmp/src" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
  git worktree add --quiet --detach "$tmp/src" "$commit" >&2
  bash scripts/build-bundle.sh --source "$tmp/src" --out "$out" >&2
fi
realpath "$bundle"
