"""Project policies with the real docker CLI: a push past the storage quota and a push
over an immutable tag fail with the registry's reason in docker's output."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import requests

from tests.support.images import (
    docker,
    docker_daemon_problem,
    ensure_derived_image,
    ensure_multilayer_image,
)


@pytest.fixture(scope="module")
def docker_config(registry, tmp_path_factory) -> Path:
    problem = docker_daemon_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    config = tmp_path_factory.mktemp("docker-policies")
    docker("login", "--username", "admin", "--password-stdin", registry.host,
           env={"DOCKER_CONFIG": str(config)}, stdin=registry.admin_password)
    return config


def _project(registry, **fields: object) -> str:
    name = f"policies-{secrets.token_hex(4)}"
    response = requests.post(f"{registry.url}/api/v2.0/projects", timeout=30,
                             auth=("admin", registry.admin_password),
                             json={"project_name": name, **fields})
    assert response.status_code == 201, response.text
    return name


def _push(config: Path, source: str, target: str) -> tuple[bool, str]:
    docker("tag", source, target)
    try:
        result = docker("push", target, env={"DOCKER_CONFIG": str(config)}, check=False)
    finally:
        docker("rmi", target, check=False)
    return result.returncode == 0, result.stdout + result.stderr


def test_docker_push_past_the_quota_says_quota_exceeded(registry, docker_config):
    project = _project(registry, storage_limit=1024 * 1024)  # the image is about 9 MiB
    image = ensure_multilayer_image()
    ok, output = _push(docker_config, image.reference, f"{registry.host}/{project}/big:v1")
    assert not ok, output
    assert "quota exceeded" in output, output
    quota = requests.get(f"{registry.url}/api/v2.0/projects/{project}/summary", timeout=30,
                         auth=("admin", registry.admin_password)).json()["quota"]
    assert quota["used"]["storage"] <= quota["hard"]["storage"]


def test_docker_push_over_an_immutable_tag_is_denied(registry, docker_config):
    project = _project(registry)
    admin = ("admin", registry.admin_password)
    base = ensure_multilayer_image()
    target = f"{registry.host}/{project}/app:v1"
    ok, output = _push(docker_config, base.reference, target)
    assert ok, output
    response = requests.post(
        f"{registry.url}/api/v2.0/projects/{project}/immutabletagrules", auth=admin, timeout=30,
        json={"scope_selectors": {"repository": [{"kind": "doublestar",
                                                  "decoration": "repoMatches",
                                                  "pattern": "**"}]},
              "tag_selectors": [{"kind": "doublestar", "decoration": "matches",
                                 "pattern": "v*"}]})
    assert response.status_code == 201, response.text
    ok, output = _push(docker_config, ensure_derived_image(base).reference, target)
    assert not ok, output
    assert "immutable" in output, output
    ok, output = _push(docker_config, base.reference, target)  # the same image: no move
    assert ok, output
