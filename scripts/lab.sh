#!/usr/bin/env bash
# The lab on this machine: ldap1, registry1 and registry2 as stand-in containers (Debian 12
# with systemd, standing in for Photon OS: images/build.sh), converged by playbooks/site.yml.
#
#   scripts/lab.sh up     start what is missing, converge, print how to log in (`make lab`)
#   scripts/lab.sh down   remove the lab's containers, network, CA trust (`make lab-down`)
#
# Secrets: generated once, random, into inventories/lab/group_vars/all/vault.yml encrypted
# with a generated password (inventories/lab/.vault-password); the clear values a person
# needs are in inventories/lab/.credentials (0600). All git-ignored; lab only.
# HT_BUNDLE=PATH installs that offline bundle instead of build/bundle/harbor-twisted-bundle.tar.gz.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
inventory=$root/inventories/lab
venv=${ANSIBLE_VENV:-$root/.venv-ansible}
image=${HT_LAB_IMAGE:-harbor-twisted/debian-systemd:bookworm}
network=ht-lab
declare -A published=([registry1]=8443 [registry2]=9443)
hosts=(ldap1 registry1 registry2)

log() { printf '[lab] %s\n' "$*"; }

start_host() { # NAME [PORT]
  local name=$1 port=${2:-} container=ht-lab-$1
  if docker container inspect "$container" >/dev/null 2>&1; then
    docker start "$container" >/dev/null
    return
  fi
  log "starting $container"
  # The capability list that boots systemd here (--privileged fails: see environment.md).
  docker run -d --name "$container" --hostname "$name" --network "$network" --network-alias "$name" \
    --cap-add ALL --cap-drop SYS_RESOURCE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --device-cgroup-rule 'a *:* rwm' --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
    --tmpfs /run --tmpfs /run/lock --tmpfs /tmp -v /var/lib/docker \
    --label org.harbor-twisted.lab=1 \
    ${port:+-p "$port:443"} "$image" >/dev/null
}

wait_booted() {
  local container=ht-lab-$1 state
  for _ in $(seq 60); do
    state=$(docker exec "$container" systemctl is-system-running 2>/dev/null || true)
    [[ $state == running || $state == degraded ]] && return
    sleep 1
  done
  log "$container did not finish booting (state: ${state:-unknown})" >&2
  exit 1
}

random_secret() { # upper, lower, digits: fits every password policy involved
  printf 'Lab-%s-1' "$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)"
}

make_secrets() {
  umask 077
  if [[ ! -s $inventory/.vault-password ]]; then
    head -c 32 /dev/urandom | base64 >"$inventory/.vault-password"
  fi
  if [[ -s $inventory/group_vars/all/vault.yml && -s $inventory/.credentials ]]; then
    return
  fi
  log "generating the lab secrets (inventories/lab/.credentials)"
  local admin ldap_admin search user plain
  admin=$(random_secret) ldap_admin=$(random_secret) search=$(random_secret) user=$(random_secret)
  plain=$(mktemp)
  cat >"$plain" <<EOF
---
vault_lab_admin_password: $admin
vault_lab_ldap_admin_password: $ldap_admin
vault_lab_ldap_search_password: $search
vault_lab_ldap_user_password: $user
EOF
  "$venv/bin/ansible-vault" encrypt --vault-password-file "$inventory/.vault-password" \
    --output "$inventory/group_vars/all/vault.yml" "$plain" >/dev/null
  rm -f "$plain"
  cat >"$inventory/.credentials" <<EOF
admin_password=$admin
ldap_user=alice
ldap_password=$user
EOF
  chmod 0600 "$inventory/.credentials" "$inventory/group_vars/all/vault.yml"
}

trust_ca_here() { # the lab CA in this machine's docker certs.d for the published ports
  local name port
  for name in "${!published[@]}"; do
    port=${published[$name]}
    mkdir -p "/etc/docker/certs.d/localhost:$port"
    install -m 0644 "$inventory/.ca/$name.crt" "/etc/docker/certs.d/localhost:$port/ca.crt"
  done
}

smoke_push() { # USER PASSWORD: the printed LDAP user pushes to the lab project and pulls back
  local user=$1 password=$2 image dir config
  image=localhost:8443/lab/lab-smoke:$(date +%s)
  dir=$(mktemp -d) config=$(mktemp -d) # a docker config of its own: no credential left behind
  head -c 4096 /dev/urandom >"$dir/smoke.bin"
  tar -C "$dir" -c smoke.bin | docker import - "$image" >/dev/null
  printf '%s' "$password" | DOCKER_CONFIG=$config docker login -u "$user" --password-stdin localhost:8443 >/dev/null
  DOCKER_CONFIG=$config docker push -q "$image" >/dev/null
  docker rmi "$image" >/dev/null
  DOCKER_CONFIG=$config docker pull -q "$image" >/dev/null
  DOCKER_CONFIG=$config docker logout localhost:8443 >/dev/null
  docker rmi "$image" >/dev/null
  rm -rf "$dir" "$config"
  log "LDAP user $user pushed and pulled $image"
}

up() {
  local start=$SECONDS
  docker image inspect "$image" >/dev/null 2>&1 || bash images/build.sh debian-systemd
  [[ -s build/bundle/harbor-twisted-bundle.tar.gz ]] || bash scripts/build-bundle.sh
  docker network inspect "$network" >/dev/null 2>&1 || docker network create "$network" >/dev/null
  for name in "${hosts[@]}"; do start_host "$name" "${published[$name]:-}"; done
  for name in "${hosts[@]}"; do wait_booted "$name"; done
  make_secrets
  log "converging playbooks/site.yml on inventories/lab"
  PATH="$venv/bin:$PATH" ANSIBLE_CONFIG=$root/ansible.cfg ANSIBLE_PIPELINING=1 \
    "$venv/bin/ansible-playbook" -i "$inventory" --vault-password-file "$inventory/.vault-password" \
    ${HT_BUNDLE:+-e "harbor_registry_bundle=$(realpath "$HT_BUNDLE")"} "$root/playbooks/site.yml"
  trust_ca_here
  # shellcheck disable=SC1091
  . "$inventory/.credentials"
  smoke_push "$ldap_user" "$ldap_password"
  cat <<EOF

[lab] ready in $((SECONDS - start)) s. Credentials: inventories/lab/.credentials (lab only)
  registry1   https://localhost:8443     registry2   https://localhost:9443
  CA          inventories/lab/.ca/registry1.crt (also in /etc/docker/certs.d/localhost:8443/)

  echo '$admin_password' | docker login -u admin --password-stdin localhost:8443
  docker tag IMAGE localhost:8443/lab/IMAGE:TAG && docker push localhost:8443/lab/IMAGE:TAG
  LDAP user: $ldap_user / $ldap_password      make lab-down removes the lab
EOF
}

down() {
  local name
  for name in "${hosts[@]}"; do
    if docker container inspect "ht-lab-$name" >/dev/null 2>&1; then
      log "removing ht-lab-$name"
      docker rm -f -v "ht-lab-$name" >/dev/null
    fi
  done
  docker network inspect "$network" >/dev/null 2>&1 && docker network rm "$network" >/dev/null
  for name in "${!published[@]}"; do rm -rf "/etc/docker/certs.d/localhost:${published[$name]}"; done
  rm -rf "$inventory/.ca"
  log "lab removed (secrets kept in inventories/lab/.credentials; delete them to start afresh)"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
