"""Two live harbor-twisted instances and helpers to wire replication between them."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.rest.conftest import Client
from tests.support.server import RegistryServer, admin_http

FAST_JOBS = {"HT_JOB_POLL_SECONDS": "1", "HT_JOB_SCHEDULER_SECONDS": "1",
             "HT_JOB_RETRY_BACKOFF_SECONDS": "1", "HT_JOB_RETRY_LIMIT": "6"}


def admin(server: RegistryServer) -> Client:
    return Client(server.url, ("admin", server.admin_password))


@pytest.fixture
def pair(start_registry: Any) -> tuple[RegistryServer, RegistryServer]:
    return start_registry(FAST_JOBS), start_registry(FAST_JOBS)


def add_endpoint(client: Client, remote: RegistryServer, name: str = "remote") -> int:
    response = client.post("/registries", json={
        "name": name, "type": "harbor", "url": remote.url, "insecure": True,
        "credential": {"type": "basic", "access_key": "admin",
                       "access_secret": remote.admin_password}})
    assert response.status_code == 201, response.text
    return int(response.headers["Location"].rsplit("/", 1)[1])


def add_policy(client: Client, **fields: Any) -> int:
    body = {"name": f"policy-{time.monotonic_ns()}", "trigger": {"type": "manual"},
            "override": True, "enabled": True, **fields}
    response = client.post("/replication/policies", json=body)
    assert response.status_code == 201, response.text
    return int(response.headers["Location"].rsplit("/", 1)[1])


def run_policy(client: Client, policy_id: int) -> int:
    response = client.post("/replication/executions", json={"policy_id": policy_id})
    assert response.status_code == 201, response.text
    return int(response.headers["Location"].rsplit("/", 1)[1])


def wait_execution(client: Client, execution_id: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/replication/executions/{execution_id}").json()
        if body["status"] in ("Success", "Error", "Stopped") or time.monotonic() > deadline:
            return body
        time.sleep(0.3)


def manifest_digest(server: RegistryServer, repo: str, reference: str) -> str | None:
    response = admin_http.head(f"{server.url}/v2/{repo}/manifests/{reference}", headers={
        "Accept": "application/vnd.oci.image.manifest.v1+json, "
                  "application/vnd.oci.image.index.v1+json"}, timeout=30)
    return response.headers.get("Docker-Content-Digest") if response.status_code == 200 else None


def wait_digest(server: RegistryServer, repo: str, reference: str, expected: str | None,
                timeout: float = 30) -> str | None:
    deadline = time.monotonic() + timeout
    while True:
        found = manifest_digest(server, repo, reference)
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.3)
