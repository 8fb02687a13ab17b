#!/usr/bin/env bash
# Build the stand-in host images for Molecule and the lab, locally (no image can be
# pulled on our machines), and reuse them while their recipe is unchanged:
#
#   harbor-twisted/debian-systemd:bookworm   Debian 12 with systemd as PID 1
#   harbor-twisted/photon-dressed:5.0        the same, dressed as Photon OS 5.0 (shims!)
#
# Each image is also tagged with a hash of its recipe (this script and its folder), so a
# changed recipe builds a new image and an unchanged one is reused by tag.
#
#   images/build.sh [debian-systemd|photon-dressed|all]   (default: all)
#   FORCE=1 images/build.sh                                rebuild even when tagged
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export DOCKER_BUILDKIT=0

REPOSITORY=${HT_IMAGE_REPOSITORY:-harbor-twisted}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
SUITE=bookworm
PACKAGES=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,iproute2,openssh-server,iptables,ca-certificates
MMDEBSTRAP_ARGS=(
  --variant=minbase --include="$PACKAGES"
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/locale/*'
)

log() { printf '[images] %s\n' "$*"; }

recipe_hash() { # hash of the named image folder and the extra text (the build parameters)
  {
    (cd "$here/$1" && find . \( -type f -o -type l \) -print0 | sort -z | xargs -0 sha256sum)
    printf '%s\n' "${2:-}"
  } | sha256sum | cut -c1-12
}

# docker build without BuildKit prints a deprecation notice on every call: keep the rest.
quiet_build() {
  docker build -q "$@" 2> >(grep -v -e 'DEPRECATED: The legacy builder' -e 'BuildKit is currently disabled' \
    -e 'environment-variable\.$' -e '^$' >&2)
}

# Drop the hash tags of earlier recipes (an image still used by a container stays).
remove_stale_tags() { # NAME CURRENT_TAG
  local ref
  for ref in $(docker image ls --format '{{.Repository}}:{{.Tag}}' "$REPOSITORY/$1"); do
    [[ $ref =~ :[0-9a-f]{12}$ && $ref != "$2" ]] || continue
    docker rmi "$ref" >/dev/null 2>&1 || log "kept $ref (still in use)"
  done
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

require_docker() {
  if ! docker info >/dev/null 2>&1; then
    log "no Docker daemon answers: run scripts/setup-host.sh first" >&2
    exit 1
  fi
}

require_mmdebstrap() {
  command -v mmdebstrap >/dev/null && return
  log "installing mmdebstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
}

build_debian_systemd() {
  local hash tag alias work
  hash=$(recipe_hash debian-systemd "$SUITE ${MMDEBSTRAP_ARGS[*]}")
  tag="$REPOSITORY/debian-systemd:$hash"
  alias="$REPOSITORY/debian-systemd:$SUITE"
  if [[ -z ${FORCE:-} ]] && image_exists "$tag"; then
    log "reusing $tag"
  else
    require_mmdebstrap
    work=$(mktemp -d /var/tmp/ht-images.XXXXXX)
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" RETURN
    log "mmdebstrap $SUITE (minbase + systemd); about a minute"
    mmdebstrap --quiet "${MMDEBSTRAP_ARGS[@]}" "$SUITE" "$work/rootfs.tar" \
      "deb $DEBIAN_MIRROR $SUITE main" \
      "deb $DEBIAN_MIRROR $SUITE-updates main" \
      "deb $DEBIAN_SECURITY_MIRROR $SUITE-security main"
    docker import "$work/rootfs.tar" "$REPOSITORY/debian-systemd-rootfs:$hash" >/dev/null
    quiet_build --build-arg "ROOTFS=$REPOSITORY/debian-systemd-rootfs:$hash" \
      -t "$tag" "$here/debian-systemd" >/dev/null
    docker rmi "$REPOSITORY/debian-systemd-rootfs:$hash" >/dev/null 2>&1 || log "kept the rootfs image"
    log "built $tag"
  fi
  docker tag "$tag" "$alias"
  remove_stale_tags debian-systemd "$tag"
  DEBIAN_IMAGE=$tag
}

build_photon_dressed() {
  local hash tag alias
  build_debian_systemd
  hash=$(recipe_hash photon-dressed "$DEBIAN_IMAGE")
  tag="$REPOSITORY/photon-dressed:$hash"
  alias="$REPOSITORY/photon-dressed:5.0"
  if [[ -z ${FORCE:-} ]] && image_exists "$tag"; then
    log "reusing $tag"
  else
    log "dressing $DEBIAN_IMAGE as Photon OS 5.0"
    quiet_build --build-arg "BASE=$DEBIAN_IMAGE" -t "$tag" "$here/photon-dressed" >/dev/null
    log "built $tag"
  fi
  docker tag "$tag" "$alias"
  remove_stale_tags photon-dressed "$tag"
}

main() {
  require_docker
  # One build at a time on this daemon (two checkouts may share it).
  exec 9>"/tmp/harbor-twisted-images.lock"
  flock 9
  case "${1:-all}" in
    debian-systemd) build_debian_systemd ;;
    photon-dressed | all) build_photon_dressed ;;
    *) echo "usage: $0 [debian-systemd|photon-dressed|all]" >&2; exit 2 ;;
  esac
}
main "$@"
