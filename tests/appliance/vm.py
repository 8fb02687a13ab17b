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


def use_kvm() -> bool:
    """KVM only when it is hardware-assisted (kvm_intel or kvm_amd loaded). Our build machines'
    /dev/kvm is PVM (kvm_pvm), which runs only PVM-enabled guest kernels at native speed and
    emulates anything else instruction by instruction: Debian's kernel crawls there (still in
    its decompressor after minutes, docs/appliance.md), while TCG boots it in under a minute.
    HT_APPLIANCE_ACCEL=kvm or =tcg overrides the choice."""
    forced = os.environ.get("HT_APPLIANCE_ACCEL", "")
    if forced in {"kvm", "tcg"}:
        return forced == "kvm"
    hardware = any(Path("/sys/module", name).exists() for name in ("kvm_intel", "kvm_amd"))
    return hardware and os.access("/dev/kvm", os.R_OK | os.W_OK)


def boot(disk: Path, iso: Path, work: Path, name: str) -> Boot:
    """Start QEMU on the disk (through its own GRUB): KVM with QEMU's default CPU model when
    use_kvm(), else TCG."""
    https_port, ssh_port = free_port(), free_port()
    console, monitor = work / f"{name}-console.log", work / f"{name}-monitor.sock"
    accel = ["-enable-kvm"] if use_kvm() else ["-accel", "tcg"]
    forwards = (f"hostfwd=tcp:127.0.0.1:{https_port}-{GUEST_ADDRESS}:443,"
                f"hostfwd=tcp:127.0.0.1:{ssh_port}-{GUEST_ADDRESS}:22")
    command = [
        "nice", "-n", "10", "qemu-system-x86_64", *accel, "-smp", "2", "-m", "3072",
        "-drive", f"file={disk},if=virtio,format=qcow2,discard=ignore",
        "-drive", f"file={iso},media=cdrom,readonly=on",
        "-netdev", f"user,id=net0,net=10.0.2.0/24,{forwards}",
        "-device", "virtio-net-pci,netdev=net0",
        # no VGA: the guest's framebuffer console would scroll a 16 MB frame buffer for every
        # line the boot prints, costly on an emulated CPU; ttyS0 carries the console
        "-display", "none", "-vga", "none", "-serial", f"file:{console}",
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
