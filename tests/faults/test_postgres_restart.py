"""PostgreSQL restarted mid-push: what needs it meanwhile answers 503 with Retry-After, the
pool reconnects, and the same process serves again once the database is back."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from tests.support.oci import OCI_MANIFEST, push_blob, push_image, sha256, unique_repo
from tests.support.postgres import PostgresCluster, start_cluster
from tests.support.server import admin_http


@pytest.fixture
def own_cluster() -> Iterator[PostgresCluster]:
    """A cluster of this test's own: restarting the session's would disturb other tests."""
    cluster = start_cluster()
    yield cluster
    cluster.stop()


def _assert_unavailable(response: requests.Response, code: str) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert int(response.headers["Retry-After"]) > 0
    assert json.loads(response.content)["errors"][0]["code"] == code


def _half_sent_put(server, location: str, data: bytes) -> socket.socket:
    """A monolithic PUT whose body is half on its way."""
    path = f"{location}?digest={sha256(data)}"
    token = server.auth_header(location)["Authorization"]
    address, port = server.host.rsplit(":", 1)
    sock = socket.create_connection((address, int(port)), timeout=30)
    sock.sendall(f"PUT {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
                 f"Content-Length: {len(data)}\r\n\r\n".encode() + data[:len(data) // 2])
    return sock


def _until_served(call, deadline_seconds: float = 30) -> requests.Response:
    deadline = time.monotonic() + deadline_seconds
    while True:
        response = call()
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def test_postgresql_restarted_mid_push(own_cluster, start_registry):
    server = start_registry(database_url=own_cluster.create_database())
    pid = server.pid
    image = push_image(server.url, unique_repo("pgdown"), "before")
    repo = unique_repo("pgdown")
    location = admin_http.post(f"{server.url}/v2/{repo}/blobs/uploads/",
                               timeout=10).headers["Location"]
    data = os.urandom(2 * 1024 * 1024)
    in_flight = _half_sent_put(server, location, data)
    api = requests.Session()
    api.auth = ("admin", server.admin_password)
    assert api.get(f"{server.url}/api/v2.0/projects", timeout=10).status_code == 200

    own_cluster.stop_server()
    in_flight.sendall(data[len(data) // 2:])
    answer = in_flight.recv(65536).decode("latin-1")
    in_flight.close()
    assert answer.startswith("HTTP/1.1 503"), answer[:300]
    assert "Retry-After: " in answer and '"UNAVAILABLE"' in answer
    manifest = admin_http.put(f"{server.url}/v2/{image.repo}/manifests/during", timeout=30,
                              data=image.manifest, headers={"Content-Type": OCI_MANIFEST})
    _assert_unavailable(manifest, "UNAVAILABLE")
    _assert_unavailable(api.get(f"{server.url}/api/v2.0/projects", timeout=30),
                        "SERVICE_UNAVAILABLE")
    assert server.process.poll() is None

    own_cluster.start_server()
    # the pool reconnects on its own: the upload kept its bytes and completes
    status = _until_served(lambda: admin_http.get(server.url + location, timeout=10))
    assert status.status_code == 204, status.text
    assert status.headers["Range"] == f"0-{len(data) - 1}"  # the refused PUT's bytes stayed
    done = admin_http.put(server.url + location, params={"digest": sha256(data)}, timeout=30)
    assert done.status_code == 201, done.text
    pulled = admin_http.get(f"{server.url}/v2/{repo}/blobs/{sha256(data)}", timeout=30)
    assert pulled.content == data
    assert api.get(f"{server.url}/api/v2.0/projects", timeout=10).status_code == 200
    push_image(server.url, repo, "after")
    push_blob(server.url, repo, b"after the restart")
    assert server.pid == pid and server.process.poll() is None
