"""A real ``docker push`` and ``docker pull`` seen in the metrics: the daemon's own request
pattern (POST, one chunked PATCH per blob, an empty PUT) counted by Distribution's route names,
and every blob byte counted once in and once out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.images import (
    docker,
    docker_daemon_problem,
    ensure_multilayer_image,
    image_id,
    image_lock,
    remove_image_completely,
    restore_tag,
)
from tests.support.metrics import METRICS_ENV, metrics_url, scrape
from tests.support.oci import unique_repo
from tests.support.server import RegistryServer, admin_http, start_server

pytestmark = pytest.mark.docker
MANIFEST_TYPES = ("application/vnd.docker.distribution.manifest.v2+json, "
                  "application/vnd.oci.image.manifest.v1+json")


@pytest.fixture(scope="module")
def metered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    problem = docker_daemon_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    server = start_server(tmp_path_factory.mktemp("docker-metrics"), extra_env=METRICS_ENV)
    yield server
    assert server.stop() == 0, server.log_text()[-3000:]


def test_docker_push_and_pull_are_counted_by_route_with_every_blob_byte(metered, tmp_path: Path):
    env = {"DOCKER_CONFIG": str(tmp_path)}
    login = docker("login", "--username", "admin", "--password-stdin", metered.host,
                   stdin=metered.admin_password, env=env)
    assert "Login Succeeded" in login.stdout
    url = metrics_url(metered)
    image = ensure_multilayer_image()
    remote = f"{metered.host}/{unique_repo('docker-metrics')}:v1"
    try:
        with image_lock():  # other runs remove this image completely while they hold it
            docker("tag", image.image_id, remote)
            before = scrape(url)
            docker("push", remote, env=env)
            pushed = scrape(url)
            remove_image_completely(image)
            try:
                docker("pull", remote, env=env)
            finally:
                if image_id(image.image_id) is None:
                    restore_tag(image)
            pulled = scrape(url)
    finally:
        docker("image", "rm", remote, check=False)

    repository, _, tag = remote.removeprefix(metered.host + "/").rpartition(":")
    manifest = admin_http.get(f"{metered.url}/v2/{repository}/manifests/{tag}",
                              headers={"Accept": MANIFEST_TYPES}, timeout=30).json()
    blobs = [manifest["config"], *manifest["layers"]]
    blob_bytes = sum(blob["size"] for blob in blobs)

    def delta(old, new, name: str, **labels: str) -> float:
        return new.get(name, **labels) - old.get(name, **labels)

    # push: each blob's bytes arrived in the upload's PATCHes (chunked, no length up front)
    assert delta(before, pushed, "registry_http_request_size_bytes_sum",
                 handler="blob-upload-chunk") == blob_bytes
    assert delta(before, pushed, "registry_http_requests_total", handler="blob-upload-chunk",
                 method="PUT", code="201") == len(blobs)
    assert delta(before, pushed, "registry_http_requests_total", handler="manifest",
                 method="PUT", code="201") == 1
    # pull: every blob's bytes went out once, answered 200
    assert delta(pushed, pulled, "registry_http_response_size_bytes_sum",
                 handler="blob") == blob_bytes
    assert delta(pushed, pulled, "registry_http_requests_total", handler="blob", method="GET",
                 code="200") == len(blobs)
    # the daemon (20.10) resolves the tag with a HEAD, then GETs the manifest by digest
    # unless its content store still holds it from an earlier pull of the same image
    manifest_reads = sum(delta(pushed, pulled, "registry_http_requests_total",
                               handler="manifest", method=method, code="200")
                         for method in ("GET", "HEAD"))
    assert manifest_reads >= 1, [line for line in pulled.text.splitlines()
                                 if 'handler="manifest"' in line and "_total" in line]
    assert pulled.get("registry_http_in_flight_requests") == 0
