"""The directory blackholed while the service runs (packets to slapd dropped): LDAP logins
fail within ``ldap_timeout`` with a clear message; database users, robots and tokens already
issued keep working, and the reactor keeps serving a concurrent pull."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.support import ldap_directory as directory
from tests.support.oci import push_blob, sha256, unique_repo
from tests.support.slapd import Slapd

LDAP_TIMEOUT = 2
MARGIN = 2.5  # seconds beyond ldap_timeout a refused login may take on a loaded machine


@pytest.fixture
def own_slapd(tmp_path) -> Iterator[Slapd]:
    """A slapd of this test's own: its port is blackholed, no other test's."""
    with directory.example_directory(tmp_path / "slapd") as server:
        yield server


@pytest.fixture
def blackholed(own_slapd: Slapd) -> Iterator[threading.Event]:
    """Set the event to drop every packet to the directory's port (undone afterwards)."""
    if os.geteuid() != 0 or shutil.which("iptables") is None:
        pytest.skip("dropping packets needs root and iptables")
    port = own_slapd.url.rsplit(":", 1)[1]
    rule = ["INPUT", "-i", "lo", "-p", "tcp", "--dport", port, "-j", "DROP"]
    event = threading.Event()
    yield event
    if event.is_set():
        subprocess.run(["iptables", "-D", *rule], check=True, timeout=30)


def _drop(own_slapd: Slapd, event: threading.Event) -> None:
    port = own_slapd.url.rsplit(":", 1)[1]
    subprocess.run(["iptables", "-I", "INPUT", "-i", "lo", "-p", "tcp", "--dport", port, "-j",
                    "DROP"], check=True, timeout=30)
    event.set()


def _token(url: str, credentials: tuple[str, str], repo: str) -> requests.Response:
    return requests.get(f"{url}/service/token", auth=credentials, timeout=30, params={
        "service": "harbor-registry", "scope": f"repository:{repo}:pull"})


def _pull(url: str, repo: str, digest: str, token: str) -> bytes:
    response = requests.get(f"{url}/v2/{repo}/blobs/{digest}", timeout=60,
                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.content


def test_a_blackholed_directory_fails_logins_fast_and_nothing_else(
    own_slapd, blackholed, start_registry, tmp_path
):
    data_dir = tmp_path / "data"
    directory.write_search_password(data_dir / "secrets" / "ldap_search_password")
    server = start_registry(directory.ldap_settings(own_slapd, HT_LDAP_TIMEOUT=str(LDAP_TIMEOUT)),
                            data_dir)
    admin = ("admin", server.admin_password)
    api = f"{server.url}/api/v2.0"
    repo = unique_repo("ldapdown")
    blob = os.urandom(32 * 1024 * 1024)
    digest = push_blob(server.url, repo, blob)
    alice = (directory.ALICE.uid, directory.ALICE.password)
    alice_token = _token(server.url, alice, repo)
    assert alice_token.status_code == 200  # she logged in while the directory answered
    robot = requests.post(f"{api}/robots", auth=admin, timeout=30, json={
        "name": "puller", "level": "system", "duration": -1, "permissions": [{
            "kind": "project", "namespace": "library",
            "access": [{"resource": "repository", "action": "pull"}]}]})
    assert robot.status_code == 201, robot.text
    robot_credentials = (robot.json()["name"], robot.json()["secret"])

    _drop(own_slapd, blackholed)
    logins: list[tuple[int, float, str]] = []

    def login(person: directory.Person) -> None:
        started = time.monotonic()
        response = requests.get(f"{api}/users/current", auth=(person.uid, person.password),
                                timeout=30)
        logins.append((response.status_code, time.monotonic() - started, response.text))

    hanging = [threading.Thread(target=login, args=(person,))
               for person in (directory.BOB, directory.CAROL, directory.DAVE, directory.ERIN)]
    for thread in hanging:
        thread.start()
    started = time.monotonic()
    admin_token = _token(server.url, admin, repo)  # a database user
    assert admin_token.status_code == 200
    assert sha256(_pull(server.url, repo, digest, admin_token.json()["token"])) == digest
    pull_seconds = time.monotonic() - started
    for thread in hanging:
        thread.join(timeout=LDAP_TIMEOUT * 6 + 10)

    assert len(logins) == 4
    for status, seconds, body in logins:
        assert status == 401, body
        assert seconds < LDAP_TIMEOUT + MARGIN, seconds
        assert "directory" in body.lower(), body  # says why, not just "unauthorized"
    robot_token = _token(server.url, robot_credentials, repo)
    assert robot_token.status_code == 200, robot_token.text
    assert _pull(server.url, repo, digest, robot_token.json()["token"]) == blob
    assert _pull(server.url, repo, digest, alice_token.json()["token"]) == blob
    assert requests.get(f"{api}/users/current", auth=admin, timeout=30).status_code == 200
    print(f"pull of 32 MiB beside 4 hanging LDAP logins: {pull_seconds:.2f}s; logins refused "
          f"in {max(seconds for _, seconds, _ in logins):.2f}s at most")
