"""Robot accounts with the real docker CLI: `docker login` as ``robot$…``, then push and pull
allowed or refused by the robot's grants.

The robots are made through the REST API; the ``$`` in their names goes to docker as a plain
subprocess argument, never through a shell.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.images import docker, docker_daemon_problem, ensure_multilayer_image

pytestmark = pytest.mark.docker

PULL = [{"resource": "repository", "action": "pull"}]
PUSH = [*PULL, {"resource": "repository", "action": "push"}]


@dataclass(frozen=True)
class Robot:
    id: int
    name: str
    secret: str
    config_dir: Path

    def run(self, *args: str) -> tuple[bool, str]:
        result = docker(*args, env={"DOCKER_CONFIG": str(self.config_dir)}, check=False)
        return result.returncode == 0, result.stdout + result.stderr

    def login(self, host: str, secret: str | None = None) -> tuple[bool, str]:
        result = docker("login", "--username", self.name, "--password-stdin", host,
                        env={"DOCKER_CONFIG": str(self.config_dir)},
                        stdin=secret or self.secret, check=False)
        return result.returncode == 0, result.stdout + result.stderr


def _api(registry, method: str, path: str, **kwargs: object) -> requests.Response:
    return requests.request(method, f"{registry.url}/api/v2.0{path}", timeout=30,
                            auth=("admin", registry.admin_password), **kwargs)


def _project(registry) -> str:
    name = f"robots-{secrets.token_hex(4)}"
    created = _api(registry, "POST", "/projects",
                   json={"project_name": name, "metadata": {"public": "false"}})
    assert created.status_code == 201, created.text
    return name


@pytest.fixture(scope="module")
def projects(registry) -> tuple[str, str]:
    problem = docker_daemon_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    return _project(registry), _project(registry)


@pytest.fixture(scope="module")
def robots(registry, projects, tmp_path_factory) -> dict[str, Robot]:
    project, _ = projects
    specs = {
        "pusher": ("project", project, PUSH),
        "puller": ("project", project, PULL),
        "everywhere": ("system", "*", PULL),
    }
    made = {}
    for label, (level, namespace, access) in specs.items():
        response = _api(registry, "POST", "/robots", json={
            "name": f"{label}-{secrets.token_hex(3)}", "level": level, "duration": -1,
            "permissions": [{"kind": "project", "namespace": namespace, "access": access}]})
        assert response.status_code == 201, response.text
        body = response.json()
        assert "$" in body["name"]
        robot = Robot(body["id"], body["name"], body["secret"],
                      tmp_path_factory.mktemp(f"docker-robot-{label}"))
        ok, output = robot.login(registry.host)
        assert ok, output
        made[label] = robot
    return made


@pytest.fixture(scope="module")
def seeded(registry, projects, robots) -> str:
    """An image the pushing robot pushed, for the others to pull."""
    project, _ = projects
    image = ensure_multilayer_image()
    target = f"{registry.host}/{project}/seed:v1"
    docker("tag", image.reference, target)
    try:
        ok, output = robots["pusher"].run("push", target)
    finally:
        docker("rmi", target)
    assert ok, output
    return target


def _push(robot: Robot, target: str) -> tuple[bool, str]:
    docker("tag", ensure_multilayer_image().reference, target)
    try:
        return robot.run("push", target)
    finally:
        docker("rmi", target)


def _pull(robot: Robot, reference: str) -> tuple[bool, str]:
    ok, output = robot.run("pull", reference)
    if ok:
        docker("rmi", reference)
    return ok, output


def test_robot_with_push_pushes_and_pulls(robots, seeded):
    ok, output = _pull(robots["pusher"], seeded)
    assert ok, output


@pytest.mark.parametrize("label", ["puller", "everywhere"])
def test_robot_with_pull_only_pulls(registry, projects, robots, seeded, label):
    ok, output = _pull(robots[label], seeded)
    assert ok, output
    project, _ = projects
    ok, output = _push(robots[label], f"{registry.host}/{project}/by-{label}:v1")
    assert not ok
    assert "denied" in output or "unauthorized" in output or "authentication" in output


def test_project_robot_cannot_reach_another_project(registry, projects, robots):
    _, other = projects
    ok, output = _push(robots["pusher"], f"{registry.host}/{other}/stray:v1")
    assert not ok, output
    assert "denied" in output or "unauthorized" in output or "authentication" in output


def test_disabled_or_refreshed_robot_is_locked_out(registry, projects, seeded, tmp_path):
    project, _ = projects
    response = _api(registry, "POST", "/robots", json={
        "name": f"locked-{secrets.token_hex(3)}", "level": "project", "duration": -1,
        "permissions": [{"kind": "project", "namespace": project, "access": PULL}]})
    assert response.status_code == 201, response.text
    body = response.json()
    robot = Robot(body["id"], body["name"], body["secret"], tmp_path)
    assert robot.login(registry.host)[0]

    refreshed = _api(registry, "PATCH", f"/robots/{robot.id}", json={})
    assert refreshed.status_code == 200, refreshed.text
    ok, output = _pull(robot, seeded)  # docker keeps the old secret, which no longer works
    assert not ok, output
    ok, output = robot.login(registry.host)
    assert not ok and "unauthorized" in output.lower()
    new_secret = refreshed.json()["secret"]
    ok, output = robot.login(registry.host, new_secret)
    assert ok, output
    ok, output = _pull(robot, seeded)
    assert ok, output

    shown = _api(registry, "GET", f"/robots/{robot.id}").json()
    disabled = _api(registry, "PUT", f"/robots/{robot.id}", json={**shown, "disable": True})
    assert disabled.status_code == 200, disabled.text
    ok, output = _pull(robot, seeded)
    assert not ok, output
    ok, output = robot.login(registry.host, new_secret)
    assert not ok, output
