#!/usr/bin/env bash
# Run inside the converged stand-in container just before its file system is exported
# (appliance/build.sh): what identifies this one machine, and every generated key and secret,
# goes, so that each deployed appliance makes its own at its first boot.
# Kept on purpose: the registry's database with its admin user, whose build-time password
# nobody knows (build.sh generates and forgets it): the first boot sets the deployer's through
# the service, on standard input, so no admin password file is ever written on the disk.
set -euo pipefail
systemctl stop harbor-twisted-log-collector.service harbor-twisted.service nginx.service 2>/dev/null || true
# machine identity: systemd makes a new machine-id at the first boot
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id /var/lib/systemd/random-seed /var/lib/systemd/credential.secret
rm -f /etc/ssh/ssh_host_*
# the registry's generated secrets: token signing key, TLS CA and server keys
rm -rf /etc/harbor-twisted/secrets/* /etc/harbor-twisted/tls/*
rm -rf /var/log/harbor/* /var/log/journal/* /var/log/*.log /var/log/apt /var/log/nginx/*
rm -rf /root/.ansible /root/.cache /tmp/* /var/tmp/*
apt-get clean
rm -rf /var/lib/apt/lists/*
find /var/cache -type f -delete
