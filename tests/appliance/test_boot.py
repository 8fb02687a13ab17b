"""Issue 15: the built OVA's disk booted under QEMU, configured from ovf-env.xml on a CD-ROM.

Boot A (static address, db_auth, root login off, a chosen admin password), once more with the
same environment (nothing may change), then boot B on the same disk with a changed one
(ldap_auth against a slapd on this host, root login on, another admin password). Afterwards
the disk is read back read-only and searched for every password.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import urllib3

from tests.appliance import vm
from tests.support import images
from tests.support import ldap_directory as directory
from tests.support.slapd import Slapd, slapd_problem

CONFIGURE_TIMEOUT = 1800.0  # per boot; under TCG on a busy 2-core host a first boot takes minutes
HOSTNAME_A = "harbor-a"
HOSTNAME_B = "harbor-b"


def _password(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}-Aa1"


@dataclass
class Run:
    """What the boots chose and saw, shared by the tests of this module (in order)."""

    work: Path
    disk: Path
    admin_a: str = field(default_factory=lambda: _password("AdminA"))
    admin_b: str = field(default_factory=lambda: _password("AdminB"))
    root_a: str = field(default_factory=lambda: _password("RootA"))
    root_b: str = field(default_factory=lambda: _password("RootB"))
    boots: dict[str, vm.Boot] = field(default_factory=dict)
    ca_pem: str = ""


def _properties_a(run: Run) -> dict[str, str]:
    return {
        "hostname": HOSTNAME_A, "ip_mode": "static", "ip_address": f"{vm.GUEST_ADDRESS}/24",
        "gateway": "10.0.2.2", "dns": "10.0.2.3", "root_password": run.root_a,
        "permit_root_login": "false", "admin_password": run.admin_a, "auth_mode": "db_auth",
    }


def _properties_b(run: Run, slapd: Slapd) -> dict[str, str]:
    return _properties_a(run) | {
        "hostname": HOSTNAME_B, "root_password": run.root_b, "permit_root_login": "true",
        "admin_password": run.admin_b, "auth_mode": "ldap_auth",
        "ldap_url": f"ldap://10.0.2.2:{slapd.port}", "ldap_search_dn": directory.READER_DN,
        "ldap_search_password": directory.READER_PASSWORD, "ldap_base_dn": directory.BASE,
        "ldap_uid": "uid", "ldap_filter": "(objectClass=inetOrgPerson)",
        "ldap_group_base_dn": directory.GROUPS,
    }


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    problem = slapd_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    server = directory.start_example_directory(tmp_path_factory.mktemp("appliance-slapd"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def run(ova_members: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """A writable qcow2 copy of the OVA's VMDK (the OVA itself stays as built)."""
    work = tmp_path_factory.mktemp("appliance-boot")
    disk = work / "appliance.qcow2"
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(ova_members[".vmdk"]), str(disk)],
                   check=True)
    state = Run(work, disk)
    yield state
    for boot in state.boots.values():
        if boot.process.poll() is None:
            boot.process.kill()
            boot.process.wait()


def _configure(run: Run, name: str, properties: dict[str, str]) -> vm.Boot:
    iso = vm.environment_iso(properties, run.work / f"env-{name}")
    boot = vm.boot(run.disk, iso, run.work, name)
    run.boots[name] = boot
    try:
        result = boot.wait_configured(CONFIGURE_TIMEOUT)
    except (TimeoutError, RuntimeError) as exc:
        boot.power_off(5)
        pytest.fail(f"boot {name}: {exc}\n{boot.console_text()[-6000:]}", pytrace=False)
    assert "configuration succeeded" in result, boot.console_text()[-6000:]
    print(f"\n[appliance] boot {name}: configured and ready {boot.ready_after:.0f} s after "
          f"QEMU started ({result.split(': ', 1)[1]})")
    return boot


def _curl_health(boot: vm.Boot, hostname: str, ca_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "-sS", "--fail", "--max-time", "20", "--cacert", str(ca_file),
         "--resolve", f"{hostname}:{boot.https_port}:127.0.0.1",
         f"https://{hostname}:{boot.https_port}/api/v2.0/health"],
        capture_output=True, text=True, check=False)


def _api(boot: vm.Boot, path: str, auth: tuple[str, str] | None = None,
         method: str = "GET", body: dict | None = None) -> requests.Response:
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    return requests.request(method, f"https://127.0.0.1:{boot.https_port}/api/v2.0{path}",
                            auth=auth, json=body, verify=False, timeout=30)


def _docker(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True,
                          timeout=300, check=False)


def _push_and_pull(registry: str, repository: str, user: str, password: str) -> None:
    login = _docker("login", "-u", user, "--password-stdin", registry, stdin=password)
    assert login.returncode == 0, login.stderr
    try:
        image = images.ensure_multilayer_image()
        target = f"{registry}/{repository}:boot"
        assert _docker("tag", image.reference, target).returncode == 0
        pushed = _docker("push", target)
        assert pushed.returncode == 0, pushed.stderr
        assert _docker("rmi", target).returncode == 0
        pulled = _docker("pull", target)
        assert pulled.returncode == 0, pulled.stderr
        assert images.image_id(target) == image.image_id
        _docker("rmi", target)
    finally:
        _docker("logout", registry)


def test_boot_a_configures_static_address_db_auth_and_admin(run: Run) -> None:
    if images.docker_daemon_problem():
        pytest.fail(images.docker_daemon_problem() or "", pytrace=False)
    _configure(run, "a1", _properties_a(run))
    run.boots["a1"].power_off()
    with vm.mounted_read_only(run.disk, run.work) as (_raw, root):
        run.ca_pem = (root / "etc/harbor-twisted/tls/ca.crt").read_text()
        network = (root / "etc/systemd/network/10-appliance.network")
        assert f"Address={vm.GUEST_ADDRESS}/24" in network.read_text()
        assert oct(network.stat().st_mode & 0o777) == "0o644"
    # the same environment again: recognised as applied already, nothing runs or changes
    boot = _configure(run, "a2", _properties_a(run))
    last_result = boot.console_text().split("configuration succeeded")[-1]
    assert "unchanged since the last run" in last_result, boot.console_text()[-4000:]
    assert (run.work / "ca.crt").write_text(run.ca_pem)
    served = _api(boot, "/systeminfo/getcert")
    if served.status_code == 200:  # the endpoint may be missing from this tree yet
        assert served.text.strip() == run.ca_pem.strip()

    health = _curl_health(boot, HOSTNAME_A, run.work / "ca.crt")
    assert health.returncode == 0, health.stderr
    assert json.loads(health.stdout)["status"] == "healthy"
    # the certificate is checked for real: another name is refused
    wrong = _curl_health(boot, "not-the-appliance", run.work / "ca.crt")
    assert wrong.returncode != 0

    assert _api(boot, "/users/current", ("admin", run.admin_a)).status_code == 200
    _push_and_pull(f"127.0.0.1:{boot.https_port}", "library/appliance-a", "admin", run.admin_a)

    refused = vm.ssh_password_login(boot.ssh_port, run.root_a)
    assert refused.returncode != 0
    assert "Permission denied" in refused.stderr, refused.stderr  # sshd answered, and said no
    boot.power_off()


def test_boot_b_switches_to_ldap_root_login_and_new_admin(run: Run, slapd: Slapd) -> None:
    if "a2" not in run.boots:
        pytest.fail("boot A did not run", pytrace=False)
    boot = _configure(run, "b", _properties_b(run, slapd))
    info = _api(boot, "/systeminfo").json()
    assert info["auth_mode"] == "ldap_auth"
    assert _api(boot, "/users/current", ("admin", run.admin_a)).status_code == 401
    assert _api(boot, "/users/current", ("admin", run.admin_b)).status_code == 200

    registry = f"127.0.0.1:{boot.https_port}"
    alice = directory.ALICE
    first = _docker("login", "-u", alice.uid, "--password-stdin", registry, stdin=alice.password)
    assert first.returncode == 0, first.stderr
    _docker("logout", registry)
    admin = ("admin", run.admin_b)
    created = _api(boot, "/projects", admin, "POST", {"project_name": "ldap-team"})
    assert created.status_code == 201, created.text
    member = _api(boot, "/projects/ldap-team/members", admin, "POST",
                  {"role_id": 2, "member_user": {"username": alice.uid}})
    assert member.status_code == 201, member.text
    _push_and_pull(registry, "ldap-team/pushed-by-alice", alice.uid, alice.password)

    root = vm.ssh_password_login(boot.ssh_port, run.root_b)
    assert root.returncode == 0, root.stderr
    assert vm.ssh_password_login(boot.ssh_port, run.root_a).returncode != 0
    boot.power_off()


def test_no_password_in_clear_on_the_disk(run: Run) -> None:
    if "b" not in run.boots:
        pytest.fail("boot B did not run", pytrace=False)
    started = time.monotonic()
    never = [run.admin_a, run.admin_b, run.root_a, run.root_b, directory.ALICE.password]
    with vm.mounted_read_only(run.disk, run.work) as (raw, root):
        patterns = run.work / "patterns"
        patterns.write_text("\n".join(never) + "\n")
        # every byte of the disk, free blocks and journal included
        found = subprocess.run(["grep", "-a", "-c", "-F", "-f", str(patterns), str(raw)],
                               capture_output=True, text=True, check=False)
        assert found.stdout.strip() == "0", "a password is on the disk in clear"
        secret_file = root / "etc/harbor-twisted/secrets/ldap_search_password"
        assert secret_file.read_text().strip() == directory.READER_PASSWORD
        assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
        holders = subprocess.run(["grep", "-r", "-l", "-F", "-a", directory.READER_PASSWORD,
                                  str(root)], capture_output=True, text=True, check=False)
        assert holders.stdout.split() == [str(secret_file)]
        shadow = (root / "etc/shadow").read_text()
        assert any(line.startswith("root:$6$") for line in shadow.splitlines())
    print(f"\n[appliance] disk searched in {time.monotonic() - started:.0f} s")
