"""Replication against Docker Distribution 2.8 (Debian's ``docker-registry``) as a
``docker-registry`` endpoint, in both directions."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.replication.conftest import (
    FAST_JOBS,
    add_policy,
    admin,
    manifest_digest,
    run_policy,
    wait_execution,
)
from tests.support.oci import push_image

BINARY = Path("/usr/bin/docker-registry")
pytestmark = pytest.mark.skipif(not BINARY.exists(), reason="docker-registry is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def distribution(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    config = tmp_path / "config.yml"
    config.write_text(json.dumps({
        "version": "0.1", "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(tmp_path / "dist")},
                    "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}"}}))
    process = subprocess.Popen([str(BINARY), "serve", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/v2/", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(tmp_path / "dist", ignore_errors=True)


def _distribution_digest(url: str, repo: str, tag: str) -> str | None:
    response = requests.head(f"{url}/v2/{repo}/manifests/{tag}", timeout=10, headers={
        "Accept": "application/vnd.oci.image.manifest.v1+json"})
    return response.headers.get("Docker-Content-Digest") if response.ok else None


def test_push_to_and_pull_from_docker_distribution(start_registry, distribution):
    a = start_registry(FAST_JOBS)
    client = admin(a)
    response = client.post("/registries", json={
        "name": "distribution", "type": "docker-registry", "url": distribution})
    assert response.status_code == 201, response.text
    endpoint = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.post("/registries/ping", json={"id": endpoint}).status_code == 200
    image = push_image(a.url, "library/dist/app", tag="v1")
    push = add_policy(client, dest_registry={"id": endpoint},
                      filters=[{"type": "name", "value": "library/dist/**"}])
    execution = wait_execution(client, run_policy(client, push))
    assert execution["status"] == "Success", execution
    assert _distribution_digest(distribution, image.repo, "v1") == image.digest
    # and back, pull-based, under another name
    pull = add_policy(client, src_registry={"id": endpoint}, dest_namespace="library",
                      dest_namespace_replace_count=-1,
                      filters=[{"type": "name", "value": "library/dist/**"}])
    execution = wait_execution(client, run_policy(client, pull))
    assert execution["status"] == "Success", execution
    assert manifest_digest(a, "library/app", "v1") == image.digest
