"""The appliance under QEMU for the boot test: an OVF environment on a CD-ROM, the user
network with host port forwards, the serial console in a file, the disk read back read-only."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

READY = re.compile(
    r"harbor-twisted-appliance: (configuration (succeeded|failed).*|.*cannot be applied.*)")
GUEST_ADDRESS = "10.0.2.50"  # a static address in QEMU's user network (its DHCP gives .15)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ovf_environment(properties: Mapping[str, str]) -> str:
    """An ovf-env.xml as vSphere's ISO transport writes it."""
    lines = "\n".join(f"    <Property oe:key={quoteattr(key)} oe:value={quoteattr(value)}/>"
                      for key, value in properties.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"\n'
        '     xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" oe:id="harbor-twisted">\n'
        "  <PlatformSection><Kind>QEMU</Kind></PlatformSection>\n"
        f"  <PropertySection>\n{lines}\n  </PropertySection>\n</Environment>\n"
    )


def environment_iso(properties: Mapping[str, str], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ovf-env.xml").write_text(ovf_environment(properties))
    iso = directory / "ovf-env.iso"
    subprocess.run(["genisoimage", "-quiet", "-o", str(iso), "-V", "OVF ENV", "-r", "-J",
                    str(directory / "ovf-env.xml")], check=True)
    return iso


@dataclass
class Boot:
    process: subprocess.Popen[bytes]
    console: Path
    monitor: Path
    https_port: int
    ssh_port: int
    started: float
    ready_after: float = 0.0

    def console_text(self) -> str:
        return self.console.read_text(errors="replace") if self.console.exists() else ""

    def wait_configured(self, timeout: float) -> str:
        """The first-boot program's last line; the time from start to it in ready_after."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = READY.search(self.console_text())
            if match:
                self.ready_after = time.monotonic() - self.started
                return match.group(0)
            if self.process.poll() is not None:
                raise RuntimeError(f"QEMU exited ({self.process.returncode})")
            time.sleep(2)
        raise TimeoutError(f"no configuration result in {timeout:.0f} s")

    def power_off(self, timeout: float = 120) -> None:
        """ACPI power button, then wait; killed only if the guest does not stop."""
        if self.process.poll() is None:
            with socket.socket(socket.AF_UNIX) as monitor:
                monitor.connect(str(self.monitor))
                monitor.sendall(b"system_powerdown\n")
                time.sleep(0.5)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass(frozen=True)
class DirectBoot:
    """The disk's own kernel, initrd and command line (its grub.cfg), for QEMU's -kernel."""

    kernel: Path
    initrd: Path
    append: str


def direct_boot_files(root: Path, work: Path) -> DirectBoot:
    """Copy the kernel and initrd GRUB would load out of the mounted disk."""
    line = next(line.split() for line in (root / "boot/grub/grub.cfg").read_text().splitlines()
                if line.strip().startswith("linux "))
    initrd = next(line.split()[1] for line in (root / "boot/grub/grub.cfg").read_text().splitlines()
                  if line.strip().startswith("initrd "))
    kernel_copy, initrd_copy = work / "vmlinuz", work / "initrd.img"
    shutil.copyfile(root / line[1].lstrip("/"), kernel_copy)
    shutil.copyfile(root / initrd.lstrip("/"), initrd_copy)
    return DirectBoot(kernel_copy, initrd_copy, " ".join(line[2:]))


def use_kvm() -> bool:
    """KVM only when asked (HT_APPLIANCE_ACCEL=kvm): on these hosts (KVM nested in a VM) the
    guest stalls under KVM in GRUB's BIOS disk reads ("Welcome to GRUB!") and, booted directly,
    right after the kernel's real-mode setup ("Probing EDD ... ok"); TCG boots it."""
    kvm = os.access("/dev/kvm", os.R_OK | os.W_OK)
    return kvm and os.environ.get("HT_APPLIANCE_ACCEL") == "kvm"


def boot(disk: Path, iso: Path, work: Path, name: str, direct: DirectBoot | None = None) -> Boot:
    """Start QEMU: TCG by default (the disk boots through its own GRUB, to systemd in about a
    minute); with HT_APPLIANCE_ACCEL=kvm, KVM with QEMU's default CPU model, and the disk's
    kernel started directly (``direct``)."""
    https_port, ssh_port = free_port(), free_port()
    console, monitor = work / f"{name}-console.log", work / f"{name}-monitor.sock"
    accel = ["-enable-kvm"] if use_kvm() else ["-accel", "tcg"]
    if use_kvm() and direct is not None:
        accel += ["-kernel", str(direct.kernel), "-initrd", str(direct.initrd),
                  "-append", direct.append]
    forwards = (f"hostfwd=tcp:127.0.0.1:{https_port}-{GUEST_ADDRESS}:443,"
                f"hostfwd=tcp:127.0.0.1:{ssh_port}-{GUEST_ADDRESS}:22")
    command = [
        "nice", "-n", "10", "qemu-system-x86_64", *accel, "-smp", "2", "-m", "3072",
        "-drive", f"file={disk},if=virtio,format=qcow2,discard=ignore",
        "-drive", f"file={iso},media=cdrom,readonly=on",
        "-netdev", f"user,id=net0,net=10.0.2.0/24,{forwards}",
        "-device", "virtio-net-pci,netdev=net0",
        "-display", "none", "-serial", f"file:{console}",
        "-monitor", f"unix:{monitor},server,nowait", "-no-reboot",
    ]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=open(work / f"{name}-qemu.log", "wb"))  # noqa: SIM115
    return Boot(process, console, monitor, https_port, ssh_port, time.monotonic())


@contextmanager
def mounted_read_only(disk: Path, work: Path) -> Iterator[tuple[Path, Path]]:
    """The qcow2 disk as raw, its root partition attached read-only with losetup (no nbd module
    here) and mounted read-only: yields (raw image, mount point). The partition is attached at
    its offset (`losetup -r -o`): this kernel has no partition-table support, so `losetup -P`
    makes no partition devices."""
    raw, mount_point = work / "disk.raw", work / "mnt"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(disk), str(raw)], check=True)
    mount_point.mkdir(exist_ok=True)
    table = json.loads(subprocess.run(["sfdisk", "-J", str(raw)], check=True,
                                      capture_output=True, text=True).stdout)
    offset = table["partitiontable"]["partitions"][0]["start"] * 512
    loop = subprocess.run(["losetup", "-r", "-o", str(offset), "--show", "-f", str(raw)],
                          check=True, capture_output=True, text=True).stdout.strip()
    try:
        subprocess.run(["mount", "-o", "ro,noload", loop, str(mount_point)], check=True)
        try:
            yield raw, mount_point
        finally:
            subprocess.run(["umount", str(mount_point)], check=True)
    finally:
        subprocess.run(["losetup", "-d", loop], check=False)
        raw.unlink(missing_ok=True)


def ssh_password_login(port: int, password: str) -> subprocess.CompletedProcess[str]:
    """`ssh root@guest true` with a password (OpenSSH's askpass, no extra tools)."""
    askpass = Path(os.environ.get("TMPDIR", "/tmp")) / f"ht-askpass-{os.getpid()}"
    askpass.write_text('#!/bin/sh\nprintf "%s\\n" "$HT_SSH_PASSWORD"\n')
    askpass.chmod(0o700)
    env = dict(os.environ, SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force", DISPLAY=":0",
               HT_SSH_PASSWORD=password)
    try:
        return subprocess.run(
            [shutil.which("ssh") or "ssh", "-p", str(port), "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=/dev/null", "-o", "PubkeyAuthentication=no",
             "-o", "PreferredAuthentications=password,keyboard-interactive",
             "-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=15", "-o", "LogLevel=ERROR",
             "root@127.0.0.1", "true"],
            env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
            check=False)
    finally:
        askpass.unlink(missing_ok=True)
