"""The real ``docker`` client (and daemon) against our registry: push, pull, shared layers.

The registry is reached as ``127.0.0.1:PORT``, which docker treats as an insecure registry, so
plain HTTP works without daemon configuration. Every test uses repositories of its own (random
suffix) because the registry is shared by all test modules.
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.e2e.access import Credentials, new_repository
from tests.support.images import (
    LocalImage,
    docker,
    docker_daemon_problem,
    ensure_derived_image,
    ensure_multilayer_image,
    image_details,
    image_id,
    image_lock,
    remove_image_completely,
    restore_tag,
)

pytestmark = pytest.mark.docker

PUSH_DIGEST = re.compile(r"^(?P<tag>\S+): digest: (?P<digest>sha256:[0-9a-f]{64}) size: \d+$", re.M)
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


def test_docker_daemon_is_running() -> None:
    """Fails (never skips) when no daemon answers: these tests prove nothing without one."""
    problem = docker_daemon_problem()
    assert problem is None, problem


def test_https_probe_on_the_plain_http_port_fails_at_once(registry) -> None:
    """docker tries HTTPS first on a loopback registry and falls back to HTTP only when that fails.

    A registry that leaves the TLS ClientHello unanswered costs every push and pull docker's
    10 s TLS handshake timeout; Docker Distribution answers it at once with a plain-HTTP 400.
    """
    host, port = registry.host.rsplit(":", 1)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        try:
            context.wrap_socket(raw, server_hostname=host).close()
            outcome = "completed a TLS handshake on the plain-HTTP port"
        except (ssl.SSLError, ConnectionError) as error:
            outcome = f"refused: {error!r}"
        except TimeoutError:
            outcome = "no answer to the ClientHello within 5 s"
    elapsed = time.monotonic() - started
    assert outcome.startswith("refused") and elapsed < 2, f"{outcome} after {elapsed:.1f} s"


@pytest.fixture(scope="module")
def daemon() -> None:
    problem = docker_daemon_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)


@dataclass(frozen=True)
class DockerCLI:
    """``docker`` with a private client configuration (its own login, not ~/.docker's)."""

    config_dir: Path

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        return docker(*args, env={"DOCKER_CONFIG": str(self.config_dir)}, stdin=stdin).stdout


@pytest.fixture(scope="module")
def cli(daemon: None, registry, credentials: Credentials, tmp_path_factory) -> DockerCLI:
    client = DockerCLI(tmp_path_factory.mktemp("docker-config"))
    output = client(
        "login",
        "--username",
        credentials.username,
        "--password-stdin",
        registry.host,
        stdin=credentials.password,
    )
    assert "Login Succeeded" in output, output
    return client


@pytest.fixture
def base_image(daemon: None) -> LocalImage:
    # Per test: a test that failed half-way may have left the cached image deleted (then it is
    # rebuilt here, in about a second).
    return ensure_multilayer_image()


@pytest.fixture
def remote_names(registry) -> Iterator[list[str]]:
    """Collects the registry references a test tags locally; they are untagged afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        docker("image", "rm", name, check=False)


def push(cli: DockerCLI, local: LocalImage, remote: str, names: list[str]) -> tuple[str, str]:
    """Tag ``local`` as ``remote`` and ``docker push`` it; returns (digest, push output)."""
    docker("tag", local.image_id, remote)
    names.append(remote)
    output = cli("push", remote)
    found = PUSH_DIGEST.search(output)
    assert found, f"no digest line in the output of `docker push {remote}`:\n{output}"
    return found["digest"], output


def layer_lines(output: str, status: str) -> list[str]:
    """The short layer IDs that ``docker push``/``pull`` reported with ``status``."""
    return re.findall(rf"^([0-9a-f]{{12}}): {re.escape(status)}", output, re.M)


def short_ids(image: LocalImage) -> set[str]:
    return {diff_id.removeprefix("sha256:")[:12] for diff_id in image.layer_diff_ids}


def get_manifest(
    http: requests.Session, registry, repository: str, reference: str
) -> requests.Response:
    response = http.get(
        f"{registry.url}/v2/{repository}/manifests/{reference}",
        headers={"Accept": MANIFEST_TYPES},
        timeout=30,
    )
    assert response.status_code == 200, (response.status_code, response.text)
    return response


def manifest_digest(http: requests.Session, registry, repository: str, reference: str) -> str:
    return get_manifest(http, registry, repository, reference).headers["Docker-Content-Digest"]


def manifest_layers(http: requests.Session, registry, repository: str, reference: str) -> set[str]:
    """Short IDs of the (compressed) layer blobs of a manifest: what ``docker pull`` prints."""
    layers = get_manifest(http, registry, repository, reference).json()["layers"]
    return {layer["digest"].removeprefix("sha256:")[:12] for layer in layers}


def test_push_then_pull_after_removing_the_local_image(
    registry, registry_http, cli, base_image, remote_names
):
    repository = new_repository("roundtrip")
    remote = f"{registry.host}/{repository}:v1"
    with image_lock():
        digest, output = push(cli, base_image, remote, remote_names)
        assert set(layer_lines(output, "Pushed")) == short_ids(base_image), output
        assert manifest_digest(registry_http, registry, repository, "v1") == digest

        remove_image_completely(base_image)
        assert image_id(base_image.image_id) is None
        try:
            pulled = cli("pull", remote)
        finally:
            if image_id(base_image.image_id) is not None:
                restore_tag(base_image)

    # Every layer came over the wire: nothing of this image was left in the daemon.
    all_layers = manifest_layers(registry_http, registry, repository, digest)
    assert set(layer_lines(pulled, "Pull complete")) == all_layers, pulled
    assert f"Digest: {digest}" in pulled
    details = image_details(remote)
    assert details["Id"] == base_image.image_id
    assert details["RootFS"]["Layers"] == list(base_image.layer_diff_ids)
    assert f"{registry.host}/{repository}@{digest}" in details["RepoDigests"]


def test_second_tag_sharing_layers_pushes_only_the_new_layer(
    registry, registry_http, cli, base_image, remote_names
):
    repository = new_repository("shared")
    derived = ensure_derived_image(base_image)
    first_digest, _ = push(cli, base_image, f"{registry.host}/{repository}:base", remote_names)

    digest, output = push(cli, derived, f"{registry.host}/{repository}:derived", remote_names)

    assert set(layer_lines(output, "Layer already exists")) == short_ids(base_image), output
    assert set(layer_lines(output, "Pushed")) == short_ids(derived) - short_ids(base_image)
    assert digest != first_digest
    assert manifest_digest(registry_http, registry, repository, "derived") == digest
    assert manifest_digest(registry_http, registry, repository, "base") == first_digest


def test_push_same_image_again_skips_every_layer(
    registry, registry_http, cli, base_image, remote_names
):
    repository = new_repository("again")
    digest, _ = push(cli, base_image, f"{registry.host}/{repository}:one", remote_names)

    again_digest, output = push(cli, base_image, f"{registry.host}/{repository}:two", remote_names)

    assert set(layer_lines(output, "Layer already exists")) == short_ids(base_image), output
    assert layer_lines(output, "Pushed") == []
    assert again_digest == digest


def test_pull_by_digest_downloads_only_missing_layers(
    registry, registry_http, cli, base_image, remote_names
):
    repository = new_repository("bydigest")
    derived = ensure_derived_image(base_image, suffix="bydigest")
    base_digest, _ = push(cli, base_image, f"{registry.host}/{repository}:base", remote_names)
    digest, _ = push(cli, derived, f"{registry.host}/{repository}:v1", remote_names)
    with image_lock():
        docker("image", "rm", derived.reference, *remote_names)
        remote_names.clear()
        assert image_id(derived.image_id) is None

        by_digest = f"{registry.host}/{repository}@{digest}"
        remote_names.append(by_digest)
        pulled = cli("pull", by_digest)
        restore_tag(derived)

    base_layers = manifest_layers(registry_http, registry, repository, base_digest)
    all_layers = manifest_layers(registry_http, registry, repository, digest)
    assert set(layer_lines(pulled, "Already exists")) == base_layers, pulled
    assert set(layer_lines(pulled, "Pull complete")) == all_layers - base_layers, pulled
    details = image_details(by_digest)
    assert details["Id"] == derived.image_id
    assert by_digest in details["RepoDigests"]


def test_push_to_another_repository_mounts_the_layers(
    registry, registry_http, cli, base_image, remote_names
):
    source = new_repository("mount-source")
    target = new_repository("mount-target")
    digest, _ = push(cli, base_image, f"{registry.host}/{source}:v1", remote_names)

    target_digest, output = push(cli, base_image, f"{registry.host}/{target}:v1", remote_names)

    # docker asks for a cross-repository mount (POST …/blobs/uploads/?mount=…&from=…) of each
    # layer it pushed before to this registry; a registry that mounts answers 201.
    assert set(layer_lines(output, "Mounted from")) == short_ids(base_image), output
    assert target_digest == digest
    assert manifest_digest(registry_http, registry, target, "v1") == digest
