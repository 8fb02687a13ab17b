"""`docker login`, push and pull as LDAP users, with project roles given to LDAP groups.

A private slapd holds the example directory (tests/support/ldap_directory.py): carol is in
`inner`, which is in `outer`; `outer` is Developer of a private project and `developers`
(alice's group) is Guest. carol pushes and pulls through the nested group, alice only
pulls, erin (in no group) does neither.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support import ldap_directory as example
from tests.support.images import docker, docker_daemon_problem, ensure_multilayer_image
from tests.support.server import RegistryServer, start_server
from tests.support.slapd import Slapd, slapd_problem

pytestmark = pytest.mark.docker

DEVELOPER, GUEST = 2, 3


@dataclass(frozen=True)
class DockerUser:
    person: example.Person
    config_dir: Path

    def run(self, *args: str, stdin: str | None = None) -> tuple[bool, str]:
        result = docker(*args, env={"DOCKER_CONFIG": str(self.config_dir)}, stdin=stdin,
                        check=False)
        return result.returncode == 0, result.stdout + result.stderr

    def login(self, host: str, password: str | None = None) -> tuple[bool, str]:
        return self.run("login", "--username", self.person.uid, "--password-stdin", host,
                        stdin=self.person.password if password is None else password)


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    problem = slapd_problem() or docker_daemon_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    server = example.start_example_directory(tmp_path_factory.mktemp("slapd-docker"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ldap_server(directory: Slapd, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[RegistryServer]:
    data_dir = tmp_path_factory.mktemp("ldap-docker-registry")
    example.write_search_password(data_dir / "secrets" / "ldap_search_password")
    server = start_server(data_dir, "", example.ldap_settings(directory))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def project(ldap_server: RegistryServer) -> str:
    """A private project: `outer` is Developer, `developers` is Guest."""
    api = f"{ldap_server.url}/api/v2.0"
    admin = ("admin", ldap_server.admin_password)
    for person in (example.CAROL, example.ALICE):  # first logins onboard their groups
        me = requests.get(f"{api}/users/current", auth=(person.uid, person.password),
                          timeout=30)
        assert me.status_code == 200, me.text
    name = f"ldap-{secrets.token_hex(4)}"
    created = requests.post(f"{api}/projects", auth=admin, timeout=30,
                            json={"project_name": name, "metadata": {"public": "false"}})
    assert created.status_code == 201, created.text
    for group_dn, role in ((example.OUTER, DEVELOPER), (example.DEVELOPERS, GUEST)):
        member = requests.post(f"{api}/projects/{name}/members", auth=admin, timeout=30,
                               json={"role_id": role, "member_group": {"ldap_group_dn": group_dn}})
        assert member.status_code == 201, member.text
    return name


@pytest.fixture(scope="module")
def users(ldap_server, project, tmp_path_factory) -> dict[str, DockerUser]:
    made = {}
    for person in (example.CAROL, example.ALICE, example.ERIN):
        user = DockerUser(person, tmp_path_factory.mktemp(f"docker-{person.uid}"))
        ok, output = user.login(ldap_server.host)
        assert ok, output
        made[person.uid] = user
    return made


def _push(user: DockerUser, target: str) -> tuple[bool, str]:
    docker("tag", ensure_multilayer_image().reference, target)
    try:
        return user.run("push", target)
    finally:
        docker("rmi", target)


def test_docker_login_as_ldap_users(ldap_server, users):
    for user in users.values():
        saved = json.loads((user.config_dir / "config.json").read_text())
        assert ldap_server.host in saved["auths"]


def test_wrong_password_cannot_log_in(ldap_server, users, tmp_path):
    stranger = DockerUser(example.CAROL, tmp_path)
    ok, output = stranger.login(ldap_server.host, "Wrong-Password-1")
    assert not ok
    assert "unauthorized" in output.lower() or "401" in output


def test_nested_group_developer_pushes_and_pulls(ldap_server, project, users):
    target = f"{ldap_server.host}/{project}/nested:v1"
    ok, output = _push(users["carol"], target)
    assert ok, output
    ok, output = users["carol"].run("pull", target)
    assert ok, output
    docker("rmi", target)


def test_guest_group_member_pulls_but_cannot_push(ldap_server, project, users):
    seeded = f"{ldap_server.host}/{project}/seed:v1"
    ok, output = _push(users["carol"], seeded)
    assert ok, output
    ok, output = users["alice"].run("pull", seeded)
    assert ok, output
    docker("rmi", seeded)
    ok, output = _push(users["alice"], f"{ldap_server.host}/{project}/by-alice:v1")
    assert not ok
    assert "denied" in output or "unauthorized" in output or "authentication" in output


def test_user_in_no_group_gets_nothing(ldap_server, project, users):
    ok, output = _push(users["erin"], f"{ldap_server.host}/{project}/by-erin:v1")
    assert not ok, output
    ok, output = users["erin"].run("pull", f"{ldap_server.host}/{project}/nested:v1")
    assert not ok, output
