"""Webhooks with the real docker CLI: a `docker push` reaches a project's webhook receiver as
PUSH_ARTIFACT naming the digest docker printed."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.images import docker, docker_daemon_problem, ensure_multilayer_image
from tests.support.webhook_receiver import Receiver, of_type, running_receiver

DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    yield from running_receiver()


@pytest.fixture(scope="module")
def docker_config(registry, tmp_path_factory) -> Path:
    problem = docker_daemon_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    config = tmp_path_factory.mktemp("docker-webhooks")
    docker("login", "--username", "admin", "--password-stdin", registry.host,
           env={"DOCKER_CONFIG": str(config)}, stdin=registry.admin_password)
    return config


def test_docker_push_delivers_push_artifact_with_the_pushed_digest(
        registry, docker_config, receiver: Receiver):
    admin = ("admin", registry.admin_password)
    project = f"hooks-{secrets.token_hex(4)}"
    api = f"{registry.url}/api/v2.0"
    response = requests.post(f"{api}/projects", auth=admin, timeout=30,
                             json={"project_name": project})
    assert response.status_code == 201, response.text
    path = receiver.new_path()
    response = requests.post(f"{api}/projects/{project}/webhook/policies", auth=admin,
                             timeout=30, json={
                                 "name": "ci", "event_types": ["PUSH_ARTIFACT"],
                                 "targets": [{"type": "http", "address": receiver.url(path),
                                              "auth_header": "Bearer e2e-token"}]})
    assert response.status_code == 201, response.text

    target = f"{registry.host}/{project}/app:v1"
    docker("tag", ensure_multilayer_image().reference, target)
    try:
        result = docker("push", target, env={"DOCKER_CONFIG": str(docker_config)})
    finally:
        docker("rmi", target, check=False)
    match = DIGEST.search(result.stdout)
    assert match, result.stdout

    (received,) = receiver.wait(path, of_type("PUSH_ARTIFACT"), timeout=60)
    assert received.headers["authorization"] == "Bearer e2e-token"
    payload = received.json
    assert payload["operator"] == "admin"
    (resource,) = payload["event_data"]["resources"]
    assert resource["digest"] == match[1]
    assert resource["tag"] == "v1"
    assert resource["resource_url"] == f"{registry.host}/{project}/app:v1"
    assert payload["event_data"]["repository"]["repo_full_name"] == f"{project}/app"
