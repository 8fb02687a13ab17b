#!/usr/bin/env bash
# A one-host Ceph cluster with a RADOS Gateway on 127.0.0.1:7480, as plain processes (no
# systemd), for the S3 storage driver's tests and benchmarks: a lab store, never production.
#
#   scripts/ceph-rgw.sh start   create (first time) or restart the cluster; idempotent
#   scripts/ceph-rgw.sh stop    stop its processes (the data stays for the next start)
#   scripts/ceph-rgw.sh status  exit 0 when S3 answers
#   scripts/ceph-rgw.sh wipe    stop and remove its data
#
# CEPH_RGW_DIR (default build/ceph-rgw) holds the configuration, keyrings (0600), the mon and
# OSD data, a 10 GiB sparse block file, logs and pids. The S3 user's keys are chosen per
# cluster and written 0600 to $CEPH_RGW_DIR/s3/{access_key,secret_key}.
# Installs Debian's Ceph 16.2 packages when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=$(mkdir -p "${CEPH_RGW_DIR:-build/ceph-rgw}" && cd "${CEPH_RGW_DIR:-build/ceph-rgw}" && pwd)
CONF=$DIR/ceph.conf
PORT=7480
PACKAGES=(ceph-mon ceph-mgr ceph-osd radosgw ceph-common)

log() { printf '[ceph-rgw] %s\n' "$*"; }

install_packages() { # only those missing (setup-host.sh checks)
  bash scripts/setup-host.sh packages "${PACKAGES[@]}"
}

s3_answers() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; }

running() { [[ -s $DIR/run/$1.pid ]] && kill -0 "$(cat "$DIR/run/$1.pid")" 2>/dev/null; }

write_conf() {
  local fsid=$1
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:3300,v1:127.0.0.1:6789]
mon initial members = a
public network = 127.0.0.0/8
cluster network = 127.0.0.0/8
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind port min = 6800
ms bind port max = 6900
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $DIR/keyring.admin
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon data avail warn = 10
run dir = $DIR/run
admin socket = $DIR/run/\$cluster-\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
[mon]
mon data = $DIR/mon/\$cluster-\$id
keyring = $DIR/mon/\$cluster-\$id/keyring
[mgr]
mgr data = $DIR/mgr/\$cluster-\$id
keyring = $DIR/mgr/\$cluster-\$id/keyring
[osd]
osd data = $DIR/osd/\$cluster-\$id
osd objectstore = bluestore
bluestore block path = $DIR/block/\$cluster-\$id.block
bluestore block create = true
bluestore block size = 10737418240
osd memory target = 943718400
keyring = $DIR/osd/\$cluster-\$id/keyring
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $DIR/rgw
keyring = $DIR/keyring.rgw
EOF
}

ceph() { command ceph -c "$CONF" "$@"; }

wait_for() {  # seconds, description, command...
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq 1 $((seconds * 2))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  log "gave up waiting for $what; see $DIR/log" >&2
  return 1
}

osd_up() { ceph osd stat -f json | grep -q '"num_up_osds":1'; }

create_cluster() {
  log "creating a one-host cluster in $DIR"
  rm -rf "$DIR"/{mon,mgr,osd,block,run,log,rgw,s3} "$DIR"/keyring.* "$CONF"
  mkdir -p "$DIR"/{mon,mgr/ceph-x,osd/ceph-0,block,run,log,rgw,s3}
  chmod 700 "$DIR" "$DIR/s3"
  write_conf "$(cat /proc/sys/kernel/random/uuid)"
  (
    umask 077
    ceph-authtool --create-keyring "$DIR/keyring.mon" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    ceph-authtool --create-keyring "$DIR/keyring.admin" --gen-key -n client.admin \
      --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
    ceph-authtool "$DIR/keyring.mon" --import-keyring "$DIR/keyring.admin" >/dev/null
    monmaptool --create --fsid "$(awk '/^fsid/ {print $3}' "$CONF")" \
      --addv a '[v2:127.0.0.1:3300,v1:127.0.0.1:6789]' "$DIR/run/monmap" >/dev/null
    ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/run/monmap" --keyring "$DIR/keyring.mon"
  )
  start_mon
  ceph auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
    -o "$DIR/mgr/ceph-x/keyring"
  start_mgr
  local uuid secret
  uuid=$(cat /proc/sys/kernel/random/uuid)
  secret=$(ceph-authtool --gen-print-key)
  (
    umask 077
    printf '{"cephx_secret": "%s"}' "$secret" | ceph osd new "$uuid" 0 -i - >/dev/null
    ceph-authtool --create-keyring "$DIR/osd/ceph-0/keyring" --name osd.0 --add-key "$secret" >/dev/null
    ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$uuid" 2>>"$DIR/log/osd-mkfs.log"
  )
  start_osd
  for pool in default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec; do
    ceph osd pool create "$pool" 8 8 >/dev/null 2>&1
    ceph osd pool application enable "$pool" rgw >/dev/null 2>&1
  done
  (umask 077; ceph auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' mgr 'allow rw' \
    -o "$DIR/keyring.rgw")
  start_rgw
  local access secret_key
  access=$(head -c 15 /dev/urandom | base32 | tr -d '=' | cut -c1-20)
  secret_key=$(head -c 30 /dev/urandom | base64 | tr -d '=+/' | cut -c1-40)
  radosgw-admin -c "$CONF" user create --uid=harbor --display-name=harbor-twisted \
    --access-key="$access" --secret-key="$secret_key" >/dev/null
  (umask 077; printf '%s' "$access" >"$DIR/s3/access_key"; printf '%s' "$secret_key" >"$DIR/s3/secret_key")
  touch "$DIR/ready"
}

start_mon() { running mon.a || ceph-mon -c "$CONF" -i a; wait_for 30 "the monitor" ceph mon stat; }
start_mgr() { running mgr.x || ceph-mgr -c "$CONF" -i x; }
start_osd() { running osd.0 || ceph-osd -c "$CONF" -i 0; wait_for 60 "the OSD" osd_up; }
start_rgw() {
  running client.rgw.a || radosgw -c "$CONF" -n client.rgw.a
  wait_for 60 "the RADOS Gateway on 127.0.0.1:$PORT" s3_answers
}

start() {
  install_packages
  if [[ ! -e $DIR/ready ]]; then
    stop
    create_cluster
  else
    start_mon
    start_mgr
    start_osd
    start_rgw
  fi
  log "S3 on http://127.0.0.1:$PORT (keys in $DIR/s3)"
}

stop() {
  local name pid
  for name in client.rgw.a osd.0 mgr.x mon.a; do
    if running "$name"; then
      pid=$(cat "$DIR/run/$name.pid")
      kill "$pid"
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
  done
  return 0
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) running client.rgw.a && s3_answers ;;  # this directory's gateway, not another
  wipe) stop; rm -rf "$DIR" ;;
  *) echo "usage: $0 start|stop|status|wipe" >&2; exit 2 ;;
esac
