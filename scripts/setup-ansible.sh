#!/usr/bin/env bash
# Create .venv-ansible (Python 3.11) with the Ansible tool chain from requirements-ansible.txt.
# Idempotent: installs again only when requirements-ansible.txt changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${ANSIBLE_VENV:-.venv-ansible}
REQUIREMENTS=requirements-ansible.txt

log() { printf '[setup-ansible] %s\n' "$*"; }
quiet_pip() { grep -v -e "^WARNING: Location '.*' is ignored" || [[ $? == 1 ]]; }  # 1: nothing left to show

pick_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.11 /usr/bin/python3.11 python3; do
    [[ -n $candidate ]] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  log "Python 3.11 with the venv module is required (apt-get install python3.11-venv)" >&2
  exit 1
}

if [[ ! -x $VENV/bin/python ]]; then
  py=$(pick_python)
  log "creating $VENV with $py"
  "$py" -m venv "$VENV"
fi

stamp="$VENV/.installed-$(sha256sum "$REQUIREMENTS" | cut -c1-16)"
if [[ ! -e $stamp ]]; then
  log "installing $REQUIREMENTS (the ansible package is large: about a minute)"
  # (grep drops pip's notes about find-links folders that this machine's pip.conf names)
  "$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip 2>&1 | quiet_pip
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQUIREMENTS" 2>&1 | quiet_pip
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
version=$("$VENV/bin/ansible" --version)
log "ready: ${version%%$'\n'*}"
