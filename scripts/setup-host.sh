#!/usr/bin/env bash
# Prepare this machine for the test suite and the benchmarks, idempotently:
# Debian packages, a running Docker daemon, and the project's virtualenv.
# `venv` (what `make run` and `make venv` use) installs only the packages the virtualenv
# needs, then creates it.
# Safe to run again: every step checks before it acts.
set -euo pipefail
SELF=$(readlink -f "$0")
cd "$(dirname "$0")/.."

# What the virtualenv alone needs (`make run`, `make venv`): python3 -m venv, and a compiler
# and headers to build python-ldap, which PyPI offers only as source.
VENV_PACKAGES=(python3-venv gcc python3-dev libldap2-dev libsasl2-dev)
APT_PACKAGES=(
  "${VENV_PACKAGES[@]}"
  docker.io skopeo docker-registry wrk
  postgresql postgresql-client
  slapd ldap-utils
  ca-certificates curl jq
  chromium chromium-driver
  ceph-mon ceph-mgr ceph-osd radosgw ceph-common  # scripts/ceph-rgw.sh: the S3 tests' store
)

log() { printf '[setup] %s\n' "$*"; }

# Installs the packages given that are missing, saying which; as root, or through sudo.
install_debian_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    if ((EUID != 0)); then
      if command -v sudo >/dev/null; then
        log "installing with sudo: ${missing[*]}"
        sudo env PATH="$PATH" bash "$SELF" packages "${missing[@]}"
        return
      fi
      log "missing Debian packages: ${missing[*]}; as root: apt-get install ${missing[*]}" >&2
      exit 1
    fi
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # slapd: binaries only; tests run their own private slapd, never the packaged service
    echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [[ -d /run/systemd/system ]] && systemctl is-enabled slapd >/dev/null 2>&1; then
      systemctl disable --now slapd >/dev/null
    fi
  fi
}

start_docker_daemon() {
  if docker info >/dev/null 2>&1; then return; fi
  if ! pgrep -x dockerd >/dev/null; then
    rm -f /var/run/docker.pid /var/run/docker.sock
    log "starting dockerd"
    mkdir -p /var/log
    setsid nohup dockerd >/var/log/dockerd.log 2>&1 </dev/null &
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return
    sleep 0.5
  done
  log "dockerd did not become ready; last log lines:"
  tail -n 20 /var/log/dockerd.log >&2
  exit 1
}

create_virtualenv() {
  local py=${PYTHON:-python3.11}
  command -v "$py" >/dev/null || py=python3
  if [[ ! -x .venv/bin/python || ! -x .venv/bin/pip ]]; then  # no pip: made without python3-venv
    log "creating .venv with $py"
    "$py" -m venv --clear .venv
  fi
  local stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
  if [[ ! -e $stamp ]]; then
    log "installing the project and its test dependencies"
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e '.[test]'
    rm -f .venv/.installed-*
    touch "$stamp"
  fi
}

case "${1:-all}" in
  venv)
    install_debian_packages "${VENV_PACKAGES[@]}"
    create_virtualenv
    ;;
  packages) shift; install_debian_packages "$@" ;;
  all)
    install_debian_packages "${APT_PACKAGES[@]}"
    start_docker_daemon
    create_virtualenv
    ;;
  *) echo "usage: $0 [all|venv|packages PKG...]" >&2; exit 2 ;;
esac
log "ready"
