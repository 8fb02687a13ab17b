"""Project roles with the real docker CLI: who may push and pull in a private project.

Users and memberships are made through the REST API as an operator would; each user then
runs `docker login`, `docker push` and `docker pull` with a private client configuration.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.images import docker, docker_daemon_problem, ensure_multilayer_image

# role id -> (may push, may pull), Harbor's matrix (harbor-reference.md)
ROLES = {
    "project-admin": (1, True, True),
    "maintainer": (4, True, True),
    "developer": (2, True, True),
    "guest": (3, False, True),
    "limited-guest": (5, False, True),
    "non-member": (None, False, False),
}


@dataclass(frozen=True)
class Client:
    username: str
    password: str
    config_dir: Path

    def run(self, *args: str) -> tuple[bool, str]:
        result = docker(*args, env={"DOCKER_CONFIG": str(self.config_dir)}, check=False)
        return result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def project(registry) -> str:
    problem = docker_daemon_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    name = f"roles-{secrets.token_hex(4)}"
    created = requests.post(f"{registry.url}/api/v2.0/projects",
                            json={"project_name": name, "metadata": {"public": "false"}},
                            auth=("admin", registry.admin_password), timeout=30)
    assert created.status_code == 201, created.text
    return name


@pytest.fixture(scope="module")
def clients(registry, project, tmp_path_factory) -> dict[str, Client]:
    admin = ("admin", registry.admin_password)
    made = {}
    for label, (role_id, _, _) in ROLES.items():
        username = f"{label}-{secrets.token_hex(3)}"
        password = "Pw-" + secrets.token_hex(8)
        response = requests.post(f"{registry.url}/api/v2.0/users", auth=admin, timeout=30, json={
            "username": username, "email": f"{username}@example.com", "realname": label,
            "password": password})
        assert response.status_code == 201, response.text
        if role_id is not None:
            member = requests.post(f"{registry.url}/api/v2.0/projects/{project}/members",
                                   auth=admin, timeout=30,
                                   json={"role_id": role_id, "member_user": {"username": username}})
            assert member.status_code == 201, member.text
        client = Client(username, password, tmp_path_factory.mktemp(f"docker-{label}"))
        ok, output = _login(client, registry.host)
        assert ok, output
        made[label] = client
    return made


def _login(client: Client, host: str) -> tuple[bool, str]:
    result = docker("login", "--username", client.username, "--password-stdin", host,
                    env={"DOCKER_CONFIG": str(client.config_dir)}, stdin=client.password,
                    check=False)
    return result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def seeded(registry, project, clients) -> str:
    """An image the project admin pushed, for everyone to try pulling."""
    image = ensure_multilayer_image()
    target = f"{registry.host}/{project}/seed:v1"
    docker("tag", image.reference, target)
    ok, output = clients["project-admin"].run("push", target)
    assert ok, output
    docker("rmi", target)
    return target


@pytest.mark.parametrize("label", list(ROLES))
def test_push_follows_the_role_matrix(registry, project, clients, label):
    _, may_push, _ = ROLES[label]
    image = ensure_multilayer_image()
    target = f"{registry.host}/{project}/by-{label}:v1"
    docker("tag", image.reference, target)
    try:
        ok, output = clients[label].run("push", target)
    finally:
        docker("rmi", target)
    assert ok is may_push, output
    if not may_push:
        assert "denied" in output or "unauthorized" in output or "authentication" in output


@pytest.mark.parametrize("label", list(ROLES))
def test_pull_follows_the_role_matrix(clients, seeded, label):
    _, _, may_pull = ROLES[label]
    ok, output = clients[label].run("pull", seeded)
    if ok:
        docker("rmi", seeded)
    assert ok is may_pull, output


def test_anonymous_cannot_pull_from_a_private_project(seeded, tmp_path):
    result = docker("pull", seeded, env={"DOCKER_CONFIG": str(tmp_path)}, check=False)
    assert result.returncode != 0
    assert "denied" in result.stderr or "unauthorized" in result.stderr


def test_wrong_password_cannot_log_in(registry, clients, tmp_path):
    client = Client(clients["developer"].username, "Wrong-Password-1", tmp_path)
    ok, output = _login(client, registry.host)
    assert not ok
    assert "unauthorized" in output.lower() or "401" in output
