#!/usr/bin/env bash
# Images for the upgrade and restore test, from the molecule host's docker (DOCKER_CONFIG
# and the CA in /etc/docker/certs.d/REGISTRY are set up by the playbook):
#
#   images.sh push REGISTRY WORK    build images with fresh content, push them; WORK/digests
#                                   gets "IMAGE DIGEST" lines (the digests the pushes reported)
#   images.sh pull REGISTRY WORK    remove each local copy, pull by tag and by digest; fails
#                                   unless every digest equals the one recorded at push
#   images.sh clean REGISTRY WORK   remove the local images
set -euo pipefail
mode=$1 registry=$2 work=$3
# IMAGE:LAYERS; the first layer is the same file in every image (a blob shared by
# repositories and projects), the others are fresh on every run.
specs=("$registry/team/app:1:2" "$registry/team/app:2:3" "$registry/shared/tool:latest:1")

case $mode in
push)
  : >"$work/digests"
  head -c 300000 /dev/urandom >"$work/shared.bin"
  for spec in "${specs[@]}"; do
    image=${spec%:*} layers=${spec##*:}
    ctx=$(mktemp -d "$work/ctx.XXXXXX")
    cp -p "$work/shared.bin" "$ctx/layer1.bin"
    printf 'FROM scratch\nCOPY layer1.bin /layer1.bin\n' >"$ctx/Dockerfile"
    for ((i = 2; i <= layers; i++)); do
      head -c 200000 /dev/urandom >"$ctx/layer$i.bin"
      printf 'COPY layer%s.bin /layer%s.bin\n' "$i" "$i" >>"$ctx/Dockerfile"
    done
    docker build -q -t "$image" "$ctx" >/dev/null
    rm -rf "$ctx"
    digest=$(docker push "$image" | sed -n 's/.*digest: \(sha256:[0-9a-f]\{64\}\).*/\1/p')
    [[ -n $digest ]] || { echo "no digest reported for $image" >&2; exit 1; }
    echo "$image $digest" | tee -a "$work/digests"
  done
  ;;
pull)
  # no local copy of any layer: every blob comes from the registry
  for spec in "${specs[@]}"; do docker rmi -f "${spec%:*}" >/dev/null 2>&1 || true; done
  while read -r image digest; do
    pulled=$(docker pull "$image" | sed -n 's/^Digest: \(sha256:[0-9a-f]\{64\}\)$/\1/p')
    [[ $pulled == "$digest" ]] || { echo "$image: pulled $pulled, pushed $digest" >&2; exit 1; }
    docker rmi -f "$image" >/dev/null
    docker pull -q "${image%:*}@$digest" >/dev/null
    docker rmi -f "${image%:*}@$digest" >/dev/null
    echo "$image $pulled"
  done <"$work/digests"
  ;;
clean)
  for spec in "${specs[@]}"; do docker rmi -f "${spec%:*}" >/dev/null 2>&1 || true; done
  ;;
*)
  echo "usage: images.sh push|pull|clean REGISTRY WORK" >&2
  exit 2
  ;;
esac
