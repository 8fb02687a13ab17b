#!/usr/bin/env bash
# The labs on this machine: stand-in containers (Debian 12 with systemd, standing in for
# Photon OS: images/build.sh), converged by playbooks/site.yml.
#
#   scripts/lab.sh up        the single-host lab, inventories/lab: ldap1, registry1
#                            (https://localhost:8443), registry2 (https://localhost:9443) (`make lab`)
#   scripts/lab.sh up ha     the HA lab, inventories/ha-lab: ldap1, db1 (PostgreSQL), s3-1 (Ceph
#                            RGW), registry1..3 on that database and bucket, lb1 (HAProxy) in
#                            front, the one URL https://localhost:8444 (`make lab-ha`)
#   scripts/lab.sh down [ha] remove that lab's containers, network, volumes, CA trust
#                            (`make lab-down`, `make lab-ha-down`)
#
# `up` starts what is missing, converges, pushes and pulls an image as the printed LDAP user,
# and prints how to log in. The two labs have names of their own (ht-lab-*, ht-labha-*) and
# run side by side.
# Secrets: generated once, random, into INVENTORY/group_vars/all/vault.yml encrypted with a
# generated password (INVENTORY/.vault-password); the clear values a person needs are in
# INVENTORY/.credentials (0600). The HA lab adds the database password, the S3 keys, the
# shared token signing key and a lab CA (INVENTORY/.pki: certificates, lb1's key
# vault-encrypted, the registries' keys in vault.yml; the CA's key is thrown away once the
# certificates are signed). All git-ignored; lab only.
# HT_BUNDLE=PATH installs that offline bundle instead of build/bundle/harbor-twisted-bundle.tar.gz.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=${ANSIBLE_VENV:-$root/.venv-ansible}
# keeps exec output the Docker API connection would lose on a loaded machine
export ANSIBLE_CALLBACK_PLUGINS=$root/molecule/resources/callback_plugins${ANSIBLE_CALLBACK_PLUGINS:+:$ANSIBLE_CALLBACK_PLUGINS}
image=${HT_LAB_IMAGE:-harbor-twisted/debian-systemd:bookworm}
action=${1:-up}
mode=${2:-single}
declare -A published=() volumes=()
case $mode in
  single)
    inventory=$root/inventories/lab prefix=ht-lab tag=lab
    hosts=(ldap1 registry1 registry2)
    published=([registry1]=8443 [registry2]=9443)
    publish_address=127.0.0.1: # loopback only: the lab's passwords are printed
    url_port=8443
    ;;
  ha)
    inventory=$root/inventories/ha-lab prefix=ht-labha tag=lab-ha
    hosts=(ldap1 db1 s3-1 registry1 registry2 registry3 lb1)
    published=([lb1]=8444)
    publish_address=127.0.0.1:
    # the monitor's and OSD's stores and the sparse block file: a volume, not the overlay
    volumes=([s3-1]=ht-labha-s3-1-ceph:/var/lib/ceph)
    url_port=8444
    ;;
  *) echo "usage: $0 up|down [ha]" >&2; exit 2 ;;
esac
network=$prefix

log() { printf '[%s] %s\n' "$tag" "$*"; }

start_host() { # NAME
  local name=$1 container=$prefix-$1 port=${published[$1]:-} volume=${volumes[$1]:-}
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
    ${volume:+-v "$volume"} --label "org.harbor-twisted.lab=$tag" \
    ${port:+-p "$publish_address$port:443"} "$image" >/dev/null
}

wait_booted() {
  local container=$prefix-$1 state
  for _ in $(seq 120); do
    state=$(docker exec "$container" systemctl is-system-running 2>/dev/null || true)
    [[ $state == running || $state == degraded ]] && return
    sleep 1
  done
  log "$container did not finish booting (state: ${state:-unknown})" >&2
  exit 1
}

random_secret() { # upper, lower, digits: fits every password policy involved
  printf 'Lab-%s-1' "$(random_chars 20)"
}

random_chars() { # COUNT [SET]: letters and digits from /dev/urandom
  local count=$1 set=${2:-A-Za-z0-9} chars=""
  while ((${#chars} < count)); do
    chars+=$(head -c 64 /dev/urandom | base64 | tr -dc "$set")
  done
  printf '%s' "${chars:0:count}"
}

indent() { sed 's/^/    /' "$1"; } # a PEM file as a YAML block scalar's lines

# The HA lab's PKI, as a real site has one: a lab CA signs lb1's certificate (localhost: the
# published port), each registry's (its name: lb1 verifies them against the CA) and s3-1's
# (S3 over TLS: the registries verify it against the CA). Writes
# the public certificates to .pki and the keys to DIR, for make_secrets to encrypt.
make_pki() { # DIR
  local dir=$1 name sans
  mkdir -p "$inventory/.pki"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
    -subj "/CN=harbor-twisted HA lab CA" -keyout "$dir/ca.key" -out "$inventory/.pki/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  for name in lb1 registry1 registry2 registry3 s3-1; do
    sans="DNS:$name"
    [[ $name == lb1 ]] && sans="DNS:localhost,IP:127.0.0.1,DNS:lb1"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
      -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
    openssl x509 -req -in "$dir/$name.csr" -CA "$inventory/.pki/ca.crt" -CAkey "$dir/ca.key" \
      -CAcreateserial -days 825 -out "$inventory/.pki/$name.crt" \
      -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$sans") \
      2>/dev/null
  done
  rm -f "$dir/ca.key" "$inventory/.pki/ca.srl" # nothing more to sign: no CA key at rest
  "$venv/bin/ansible-vault" encrypt --vault-password-file "$inventory/.vault-password" \
    --output "$inventory/.pki/lb1.key" "$dir/lb1.key" >/dev/null
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$dir/token.key" 2>/dev/null
}

make_secrets() {
  umask 077
  if [[ ! -s $inventory/.vault-password ]]; then
    head -c 32 /dev/urandom | base64 >"$inventory/.vault-password"
  fi
  if [[ -s $inventory/group_vars/all/vault.yml && -s $inventory/.credentials ]] &&
    [[ $mode == single || (-s $inventory/.pki/lb1.key && -s $inventory/.pki/s3-1.crt) ]]; then
    return
  fi
  log "generating the lab secrets (${inventory#"$root"/}/.credentials)"
  local admin ldap_admin search user work name
  admin=$(random_secret) ldap_admin=$(random_secret) search=$(random_secret) user=$(random_secret)
  work=$(mktemp -d)
  cat >"$work/vault.yml" <<EOF
---
vault_lab_admin_password: $admin
vault_lab_ldap_admin_password: $ldap_admin
vault_lab_ldap_search_password: $search
vault_lab_ldap_user_password: $user
EOF
  if [[ $mode == ha ]]; then
    make_pki "$work"
    {
      echo "vault_lab_database_password: $(random_secret)"
      echo "vault_lab_s3_access_key: $(random_chars 20 A-Z0-9)"
      echo "vault_lab_s3_secret_key: $(random_chars 40)"
      echo "vault_lab_token_signing_key: |"
      indent "$work/token.key"
      echo "vault_lab_tls_keys:"
      for name in registry1 registry2 registry3 s3-1; do
        echo "  $name: |"
        indent "$work/$name.key"
      done
    } >>"$work/vault.yml"
  fi
  "$venv/bin/ansible-vault" encrypt --vault-password-file "$inventory/.vault-password" \
    --output "$inventory/group_vars/all/vault.yml" "$work/vault.yml" >/dev/null
  rm -rf "$work"
  cat >"$inventory/.credentials" <<EOF
admin_password=$admin
ldap_user=alice
ldap_password=$user
EOF
  chmod 0600 "$inventory/.credentials" "$inventory/group_vars/all/vault.yml"
}

ca_of() { # NAME: the CA file a client of NAME's published port trusts
  if [[ $mode == ha ]]; then echo "$inventory/.pki/ca.crt"; else echo "$inventory/.ca/$1.crt"; fi
}

trust_ca_here() { # the lab CA in this machine's docker certs.d for the published ports
  local name port
  for name in "${!published[@]}"; do
    port=${published[$name]}
    mkdir -p "/etc/docker/certs.d/localhost:$port"
    install -m 0644 "$(ca_of "$name")" "/etc/docker/certs.d/localhost:$port/ca.crt"
  done
}

registry_requests() { # NAME: how many /v2/ and token requests NAME's nginx has logged
  docker exec "$prefix-$1" grep -c -E '"[A-Z]+ /(v2/|service/token)' /var/log/harbor/nginx-access.log \
    2>/dev/null || true
}

smoke_push() { # USER PASSWORD: the printed LDAP user pushes to the lab project and pulls back
  local user=$1 password=$2 registry=localhost:$url_port image dir config name
  local -A before=()
  image=$registry/lab/lab-smoke:$(date +%s)
  dir=$(mktemp -d) config=$(mktemp -d) # a docker config of its own: no credential left behind
  # the HA lab: a 20 MiB layer (two S3 parts of 16 MiB) through lb1 to the registry hosts
  head -c "$([[ $mode == ha ]] && echo 20971520 || echo 4096)" /dev/urandom >"$dir/smoke.bin"
  tar -C "$dir" -c smoke.bin | docker import - "$image" >/dev/null
  [[ $mode == ha ]] && for name in registry1 registry2 registry3; do before[$name]=$(registry_requests "$name"); done
  printf '%s' "$password" | DOCKER_CONFIG=$config docker login -u "$user" --password-stdin "$registry" >/dev/null
  DOCKER_CONFIG=$config docker push -q "$image" >/dev/null
  docker rmi "$image" >/dev/null
  DOCKER_CONFIG=$config docker pull -q "$image" >/dev/null
  DOCKER_CONFIG=$config docker logout "$registry" >/dev/null
  docker rmi "$image" >/dev/null
  rm -rf "$dir" "$config"
  log "LDAP user $user pushed and pulled $image"
  if [[ $mode == ha ]]; then
    local served=""
    for name in registry1 registry2 registry3; do
      served+=" $name $(($(registry_requests "$name") - ${before[$name]:-0}))"
    done
    log "lb1 sent its requests (/v2/ and token) to:$served"
  fi
}

converge() {
  log "converging playbooks/site.yml on ${inventory#"$root"/}"
  PATH="$venv/bin:$PATH" ANSIBLE_CONFIG=$root/ansible.cfg ANSIBLE_PIPELINING=1 \
    "$venv/bin/ansible-playbook" -i "$inventory" --vault-password-file "$inventory/.vault-password" \
    ${HT_BUNDLE:+-e "harbor_registry_bundle=$(realpath "$HT_BUNDLE")"} "$root/playbooks/site.yml"
}

# shellcheck disable=SC2154 # admin_password, ldap_user, ldap_password: from .credentials
up() {
  local start=$SECONDS name
  docker image inspect "$image" >/dev/null 2>&1 || bash images/build.sh debian-systemd
  [[ -s build/bundle/harbor-twisted-bundle.tar.gz ]] || bash scripts/build-bundle.sh
  docker network inspect "$network" >/dev/null 2>&1 || docker network create "$network" >/dev/null
  for name in "${hosts[@]}"; do start_host "$name"; done
  for name in "${hosts[@]}"; do wait_booted "$name"; done
  make_secrets
  converge
  trust_ca_here
  # shellcheck disable=SC1091
  . "$inventory/.credentials"
  smoke_push "$ldap_user" "$ldap_password"
  if [[ $mode == ha ]]; then
    cat <<EOF

[lab-ha] ready in $((SECONDS - start)) s. Credentials: inventories/ha-lab/.credentials (lab only)
  the registry  https://localhost:8444  (lb1, HAProxy, in front of registry1..3)
  CA            inventories/ha-lab/.pki/ca.crt (also in /etc/docker/certs.d/localhost:8444/)
  behind it     db1 (PostgreSQL), s3-1 (Ceph RGW, bucket harbor-blobs), ldap1

  echo '$admin_password' | docker login -u admin --password-stdin localhost:8444
  docker tag IMAGE localhost:8444/lab/IMAGE:TAG && docker push localhost:8444/lab/IMAGE:TAG
  LDAP user: $ldap_user / $ldap_password      make lab-ha-down removes the lab
EOF
    return
  fi
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
  local name volume
  for name in "${hosts[@]}"; do
    if docker container inspect "$prefix-$name" >/dev/null 2>&1; then
      log "removing $prefix-$name"
      docker rm -f -v "$prefix-$name" >/dev/null
    fi
  done
  for volume in "${volumes[@]}"; do
    volume=${volume%%:*}
    docker volume inspect "$volume" >/dev/null 2>&1 && docker volume rm "$volume" >/dev/null
  done
  docker network inspect "$network" >/dev/null 2>&1 && docker network rm "$network" >/dev/null
  for name in "${!published[@]}"; do rm -rf "/etc/docker/certs.d/localhost:${published[$name]}"; done
  [[ $mode == single ]] && rm -rf "$inventory/.ca" # per registry, made again at the next up
  log "lab removed (secrets kept in ${inventory#"$root"/}/.credentials; delete them to start afresh)"
}

case $action in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down [ha]" >&2; exit 2 ;;
esac
