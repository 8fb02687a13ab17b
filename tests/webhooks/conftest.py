"""Webhook fixtures: a receiver, and a harbor-twisted process per database whose job service
retries quickly (1 s backoff), so deliveries that fail a few times finish in seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import BACKENDS
from tests.rest.conftest import Client, create_project, unique
from tests.support.server import RegistryServer, start_server
from tests.support.webhook_receiver import Receiver, running_receiver

RETRY_LIMIT = 3


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    yield from running_receiver()


@pytest.fixture(scope="session", params=BACKENDS)
def hook_server(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    backend = request.param
    url = "" if backend == "sqlite" else (
        request.getfixturevalue("postgres_cluster").create_database())
    server = start_server(tmp_path_factory.mktemp(f"webhooks-{backend}"), url, {
        "HT_JOB_RETRY_BACKOFF_SECONDS": "1", "HT_JOB_RETRY_LIMIT": str(RETRY_LIMIT)})
    yield server
    assert server.stop() == 0, server.log_text()[-4000:]


@pytest.fixture(scope="session")
def hook_admin(hook_server: RegistryServer) -> Client:
    return Client(hook_server.url, ("admin", hook_server.admin_password))


def policy_body(address: str, events: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    target = {"type": "http", "address": address, "skip_cert_verify": False,
              "payload_format": "Default"}
    target.update(fields.pop("target", {}))
    return {"name": fields.pop("name", unique("hook")), "enabled": True,
            "event_types": ["PUSH_ARTIFACT"] if events is None else events,
            "targets": [target], **fields}


def create_policy(client: Client, project: str, body: dict[str, Any]) -> int:
    response = client.post(f"/projects/{project}/webhook/policies", json=body)
    assert response.status_code == 201, response.text
    return int(response.headers["Location"].rsplit("/", 1)[1])


def project_with_policy(admin: Client, address: str, events: list[str] | None = None,
                        **fields: Any) -> tuple[str, int]:
    project = create_project(admin)
    return project, create_policy(admin, project, policy_body(address, events, **fields))


def executions(client: Client, project: str, policy_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/projects/{project}/webhook/policies/{policy_id}/executions",
                          params={"page_size": 100})
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_execution(client: Client, project: str, policy_id: int, final: bool = True,
                       timeout: float = 60.0) -> dict[str, Any]:
    """The policy's newest execution, once it exists (and ended, if ``final``)."""
    deadline = time.monotonic() + timeout
    while True:
        found = executions(client, project, policy_id)
        if found and (not final or found[0]["status"] in ("Success", "Error", "Stopped")):
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no {'ended ' if final else ''}execution of policy "
                                 f"{policy_id}: {found}")
        time.sleep(0.2)
