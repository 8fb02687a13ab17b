#!/usr/bin/env bash
# `make appliance`: build/appliance/harbor-twisted-VERSION.ova, from Debian's archive and this
# tree only (issue 15):
#   1. a Debian 12 root filesystem with a kernel and GRUB (mmdebstrap), imported as an image;
#   2. converged by the project's roles (photon_host, harbor_registry from the offline bundle)
#      inside a systemd stand-in container, as Molecule does (appliance/build.yml), which also
#      installs Ansible, the roles and the first-boot service for every later configuration;
#   3. machine identity, host keys and generated secrets scrubbed (appliance/scrub.sh), the
#      container's file system exported onto a partitioned raw disk made bootable with GRUB;
#   4. a streamOptimized VMDK, the OVF descriptor with its properties, the .mf, the OVA tar.
# Reused while its inputs (this folder, the roles, the bundle, the collections) are unchanged:
# `make test` builds it once. FORCE=1 rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/build/appliance
venv=${ANSIBLE_VENV:-$root/.venv-ansible}
bundle=$root/build/bundle/harbor-twisted-bundle.tar.gz
version=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n1)
name=harbor-twisted-$version
ova=$out/$name.ova
disk_size=${HT_APPLIANCE_DISK_SIZE:-8G}
SUITE=bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# The base system; the roles add what they list (nginx, nftables, python3-venv, ...).
PACKAGES=systemd,systemd-sysv,systemd-resolved,dbus,udev,kmod,linux-image-amd64,grub-pc,
PACKAGES+=initramfs-tools,e2fsprogs,python3,python3-apt,sudo,iproute2,openssh-server,
PACKAGES+=ca-certificates,open-vm-tools,openssl,util-linux,mount,procps,less
MMDEBSTRAP_ARGS=(
  --variant=minbase --include="$PACKAGES"
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/locale/*'
)
# Units masked only while the stand-in container runs (unmasked on the exported disk).
CONTAINER_MASKS=(systemd-networkd-wait-online.service getty.target console-getty.service
  getty@tty1.service systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
  systemd-udev-trigger.service systemd-udev-settle.service systemd-firstboot.service
  systemd-remount-fs.service sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount)

log() { printf '[appliance] %s\n' "$*"; }

inputs_hash() { # everything the OVA is made of
  {
    find appliance roles/photon_host roles/harbor_registry collections requirements-ansible.txt \
      -path '*/molecule' -prune -o \( -type f -o -type l \) -print0 | sort -z | xargs -0 sha256sum
    sha256sum "$(readlink -f "$bundle")"
    printf '%s\n' "$SUITE ${MMDEBSTRAP_ARGS[*]} $disk_size"
  } | sha256sum | cut -c1-16
}

require_tools() {
  local missing=()
  command -v qemu-img >/dev/null || missing+=(qemu-utils)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  command -v sfdisk >/dev/null || missing+=(fdisk)
  ((${#missing[@]} == 0)) || bash scripts/setup-host.sh packages "${missing[@]}"
  [[ -x $venv/bin/ansible-playbook ]] || bash scripts/setup-ansible.sh
  [[ -s $bundle ]] || bash scripts/build-bundle.sh
}

base_image() { # the mmdebstrap root filesystem as a systemd image, reused by tag
  local hash tag work
  hash=$( { printf '%s\n' "$SUITE ${MMDEBSTRAP_ARGS[*]} ${CONTAINER_MASKS[*]}"; cat appliance/Dockerfile; } \
    | sha256sum | cut -c1-12)
  tag=harbor-twisted/appliance-base:$hash
  if ! docker image inspect "$tag" >/dev/null 2>&1; then
    work=$(mktemp -d /var/tmp/ht-appliance.XXXXXX)
    log "mmdebstrap $SUITE with a kernel and GRUB"
    nice -n 10 mmdebstrap --quiet "${MMDEBSTRAP_ARGS[@]}" "$SUITE" "$work/rootfs.tar" \
      "deb $DEBIAN_MIRROR $SUITE main" \
      "deb $DEBIAN_MIRROR $SUITE-updates main" \
      "deb $DEBIAN_SECURITY_MIRROR $SUITE-security main"
    docker import "$work/rootfs.tar" "$tag-rootfs" >/dev/null
    rm -rf "$work"
    DOCKER_BUILDKIT=0 docker build -q --build-arg "ROOTFS=$tag-rootfs" \
      --build-arg "MASKS=${CONTAINER_MASKS[*]}" -t "$tag" -f appliance/Dockerfile appliance >/dev/null 2>&1
    docker rmi "$tag-rootfs" >/dev/null 2>&1 || true
  fi
  BASE_IMAGE=$tag
}

converge() { # CONTAINER: the roles and the first-boot service, as Molecule would
  local container=$1 secrets
  # The capability list that boots systemd here (--privileged fails: environment.md).
  docker run -d --name "$container" --hostname harbor-twisted \
    --cap-add ALL --cap-drop SYS_RESOURCE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --device-cgroup-rule 'a *:* rwm' --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
    --tmpfs /run --tmpfs /run/lock --tmpfs /tmp "$BASE_IMAGE" >/dev/null
  for _ in $(seq 60); do
    state=$(docker exec "$container" systemctl is-system-running 2>/dev/null || true)
    [[ $state == running || $state == degraded ]] && break
    sleep 1
  done
  # A build-time admin password nobody keeps: the first boot sets the deployer's.
  secrets=$(mktemp /tmp/ht-appliance-vars.XXXXXX.json)
  printf '{"harbor_registry_admin_password": "Build-%s-1"}\n' \
    "$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)" >"$secrets"
  log "converging $container with photon_host and harbor_registry (appliance/build.yml)"
  PATH="$venv/bin:$PATH" ANSIBLE_CONFIG=$root/ansible.cfg ANSIBLE_PIPELINING=1 NO_COLOR=1 \
    ANSIBLE_ROLES_PATH=$root/roles nice -n 10 "$venv/bin/ansible-playbook" -i "$container," \
    -c community.docker.docker -e "@$secrets" -e "harbor_registry_bundle=$(readlink -f "$bundle")" \
    -e "appliance_controller_collections=$(echo "$venv"/lib/python3*/site-packages/ansible_collections)" \
    -e "appliance_source=$root" appliance/build.yml
  rm -f "$secrets"
  docker exec -i "$container" bash -s <appliance/scrub.sh  # (docker cp cannot write into its tmpfs /tmp)
}

make_disk() { # CONTAINER RAW: the container's file system on a bootable partitioned disk
  # This kernel has no partition-table support (losetup -P makes no partition devices), so
  # the partition is attached by its offset, and GRUB's boot sector and core image are
  # written with grub-mkimage and dd rather than grub-install (which must see the partition).
  local container=$1 raw=$2 loop mnt uuid kernel initrd start=2048 grub=/usr/lib/grub/i386-pc
  rm -f "$raw"
  truncate -s "$disk_size" "$raw"
  printf 'label: dos\nstart=%s,type=L,bootable\n' "$start" | sfdisk -q "$raw"
  loop=$(losetup --show -f -o $((start * 512)) "$raw")
  mnt=$(mktemp -d /var/tmp/ht-appliance-mnt.XXXXXX)
  # shellcheck disable=SC2064
  trap "umount -R '$mnt' 2>/dev/null || true; losetup -d '$loop' 2>/dev/null || true; rmdir '$mnt' 2>/dev/null || true" EXIT
  mkfs.ext4 -q -L harbor-root "$loop"
  uuid=$(blkid -s UUID -o value "$loop")
  mount "$loop" "$mnt"
  log "exporting the converged file system onto the disk"
  docker export "$container" | tar -x -C "$mnt" --numeric-owner --xattrs 2>/dev/null \
    || docker export "$container" | tar -x -C "$mnt" --numeric-owner
  for unit in "${CONTAINER_MASKS[@]}"; do
    # systemd-firstboot stays masked: on an empty machine-id it would prompt on the console
    [[ $unit == systemd-firstboot.service ]] && continue
    [[ $(readlink "$mnt/etc/systemd/system/$unit" 2>/dev/null) == /dev/null ]] && rm -f "$mnt/etc/systemd/system/$unit"
  done
  rm -f "$mnt/.dockerenv"
  # Files docker bind-mounted into the container: written for the disk.
  printf 'harbor-twisted\n' >"$mnt/etc/hostname"
  printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$mnt/etc/hosts"
  ln -sf ../run/systemd/resolve/stub-resolv.conf "$mnt/etc/resolv.conf"
  printf 'UUID=%s / ext4 errors=remount-ro 0 1\n' "$uuid" >"$mnt/etc/fstab"
  kernel=$(cd "$mnt/boot" && ls vmlinuz-* | sort -V | tail -n1)
  initrd=initrd.img-${kernel#vmlinuz-}
  mkdir -p "$mnt/boot/grub/i386-pc"
  cp "$mnt$grub"/*.mod "$mnt$grub"/*.lst "$mnt/boot/grub/i386-pc/"
  printf '%s\n' "set timeout=1" "search --no-floppy --fs-uuid --set=root $uuid" \
    'menuentry "harbor-twisted appliance" {' \
    "  linux /boot/$kernel root=UUID=$uuid ro net.ifnames=0 console=tty1 console=ttyS0,115200" \
    "  initrd /boot/$initrd" "}" >"$mnt/boot/grub/grub.cfg"
  sed -i 's/^GRUB_CMDLINE_LINUX=.*/GRUB_CMDLINE_LINUX="net.ifnames=0 console=tty1 console=ttyS0,115200"/' \
    "$mnt/etc/default/grub"
  chroot "$mnt" grub-mkimage -O i386-pc -o /tmp/core.img -p "(hd0,msdos1)/boot/grub" \
    biosdisk part_msdos ext2 search search_fs_uuid normal linux configfile
  # the boot sector's first 440 bytes (the partition table stays), then the core image from
  # sector 1 on, before the partition: as grub-bios-setup lays them out
  dd if="$mnt$grub/boot.img" of="$raw" bs=440 count=1 conv=notrunc status=none
  dd if="$mnt/tmp/core.img" of="$raw" bs=512 seek=1 conv=notrunc status=none
  rm -f "$mnt/tmp/core.img"
  umount "$mnt"
  losetup -d "$loop"
  rmdir "$mnt"
  trap - EXIT
}

main() {
  local hash start=$SECONDS container raw
  mkdir -p "$out"
  require_tools
  hash=$(inputs_hash)
  if [[ -z ${FORCE:-} && -s $ova && $(cat "$out/.inputs" 2>/dev/null) == "$hash" ]]; then
    log "reusing $ova (inputs unchanged)"
    return
  fi
  exec 9>/tmp/harbor-twisted-appliance.lock
  flock 9
  base_image
  container=ht-appliance-build-$$
  # shellcheck disable=SC2064
  trap "docker rm -f -v '$container' >/dev/null 2>&1 || true" EXIT
  converge "$container"
  docker stop "$container" >/dev/null
  raw=$out/$name.raw
  make_disk "$container" "$raw"
  docker rm -f -v "$container" >/dev/null
  trap - EXIT
  log "streamOptimized VMDK, OVF, manifest, OVA"
  rm -f "$out/$name-disk1.vmdk"
  nice -n 10 qemu-img convert -O vmdk -o subformat=streamOptimized "$raw" "$out/$name-disk1.vmdk"
  rm -f "$raw"
  python3 appliance/ova.py --name "$name" --version "$version" --dir "$out" --disk-size "$disk_size"
  printf '%s\n' "$hash" >"$out/.inputs"
  log "built $ova ($(du -h "$ova" | cut -f1)) in $((SECONDS - start)) s"
}
main "$@"
