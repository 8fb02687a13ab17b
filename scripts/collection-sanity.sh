#!/usr/bin/env bash
# `ansible-test sanity` for the harbor_twisted.registry collection, without containers:
# ansible-test needs the collection at a path ending in ansible_collections/NAMESPACE/NAME
# and inside no other git tree's ignore rules, so a copy goes to a temporary directory.
# Its test virtualenvs (--venv --requirements) stay under ~/.ansible/test between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ANSIBLE_VENV=${ANSIBLE_VENV:-.venv-ansible}
SOURCE=collections/ansible_collections/harbor_twisted/registry

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target="$work/ansible_collections/harbor_twisted/registry"
mkdir -p "$target"
cp -a "$SOURCE/." "$target/"
rm -rf "$target/tests/output"
cd "$target"
# ansible-test asks git which files belong to the collection: a repository of its own
git init -q . && git add -A && git -c user.name=sanity -c user.email=sanity@localhost commit -qm sanity
# the get-pip script it would download, for every pip version it may ask for
pip_version=$("$ROOT/$ANSIBLE_VENV/bin/python" - <<'PY'
import re, ansible_test._internal.python_requirements as r
print(re.search(r"pip='([0-9.]+)'", open(r.__file__).read()).group(1))
PY
)
mkdir -p "$HOME/.ansible/test/cache"
cp "$ROOT/scripts/ansible-test-get-pip.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
PATH="$ROOT/$ANSIBLE_VENV/bin:$PATH" NO_COLOR=1 \
  "$ROOT/$ANSIBLE_VENV/bin/ansible-test" sanity --venv --requirements --python 3.11 "$@"
