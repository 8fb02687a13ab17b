"""The real ``skopeo`` against our registry: copies in and out, image indexes, tags, deletes.

Images enter from the Docker daemon (``docker-daemon:``) and from OCI layouts written in Python
(``oci:``), and leave into OCI layouts and back into the daemon. Digests are compared at every
step: a registry that rewrote a manifest or a blob would change one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.access import Credentials, new_repository
from tests.support.images import (
    LocalImage,
    OciIndexLayout,
    docker,
    docker_daemon_problem,
    ensure_multilayer_image,
    image_id,
    image_lock,
    read_layout_blob,
    read_layout_tag,
    sha256_digest,
    write_oci_index_layout,
)

SKOPEO_TIMEOUT = 120.0


class SkopeoError(AssertionError):
    pass


@dataclass(frozen=True)
class Skopeo:
    """``skopeo`` logged in to the registry under test through a private auth file."""

    auth_file: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        env = dict(os.environ)
        env["REGISTRY_AUTH_FILE"] = str(self.auth_file)
        command = ["skopeo", *args]
        result = subprocess.run(
            command, capture_output=True, timeout=SKOPEO_TIMEOUT, env=env, check=False
        )
        if check and result.returncode != 0:
            raise SkopeoError(
                f"`{' '.join(command)}` exited {result.returncode}\n"
                f"stdout:\n{result.stdout.decode()}\nstderr:\n{result.stderr.decode()}"
            )
        return result

    def copy_in(self, source: str, destination: str, *flags: str) -> None:
        self.run("copy", "--quiet", "--dest-tls-verify=false", *flags, source, destination)

    def copy_out(self, source: str, destination: str, *flags: str) -> None:
        self.run("copy", "--quiet", "--src-tls-verify=false", *flags, source, destination)

    def raw_manifest(self, reference: str) -> bytes:
        return self.run("inspect", "--raw", "--tls-verify=false", reference).stdout

    def missing(self, reference: str) -> str:
        """Assert that ``inspect`` finds no manifest; returns skopeo's complaint."""
        result = self.run("inspect", "--raw", "--tls-verify=false", reference, check=False)
        assert result.returncode != 0, f"{reference} is still there"
        return result.stderr.decode()

    def inspect(self, reference: str, *flags: str) -> dict[str, object]:
        return json.loads(self.run("inspect", "--tls-verify=false", *flags, reference).stdout)

    def list_tags(self, repository: str) -> set[str]:
        answer = json.loads(self.run("list-tags", "--tls-verify=false", repository).stdout)
        return set(answer["Tags"] or [])

    def delete(self, reference: str) -> None:
        self.run("delete", "--tls-verify=false", reference)


@pytest.fixture(scope="module")
def sk(registry, credentials: Credentials, tmp_path_factory) -> Skopeo:
    auth_file = tmp_path_factory.mktemp("skopeo-auth") / "auth.json"
    token = base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()
    auth_file.write_text(json.dumps({"auths": {registry.host: {"auth": token}}}))
    auth_file.chmod(0o600)
    return Skopeo(auth_file)


def remote(registry, kind: str) -> str:
    """``docker://HOST/REPOSITORY`` of a new repository."""
    return f"docker://{registry.host}/{new_repository('skopeo-' + kind)}"


def layout_manifest(directory: Path, tag: str) -> tuple[str, bytes]:
    """(digest, bytes) of what ``tag`` names in a layout, the blob checked against its name."""
    digest = str(read_layout_tag(directory, tag)["digest"])
    return digest, read_layout_blob(directory, digest)


def assert_layout_complete(directory: Path, manifest: bytes) -> None:
    """Every blob an image manifest (or index, recursively) names is in the layout, intact."""
    document = json.loads(manifest)
    for child in document.get("manifests", []):
        assert_layout_complete(directory, read_layout_blob(directory, child["digest"]))
    for descriptor in [document.get("config"), *document.get("layers", [])]:
        if descriptor:
            assert len(read_layout_blob(directory, descriptor["digest"])) == descriptor["size"]


@pytest.fixture(scope="module")
def multiarch(tmp_path_factory) -> OciIndexLayout:
    return write_oci_index_layout(tmp_path_factory.mktemp("oci-multiarch") / "layout")


@pytest.fixture
def daemon_image() -> LocalImage:
    problem = docker_daemon_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    return ensure_multilayer_image()


@pytest.mark.docker
def test_copy_from_docker_daemon_into_registry_and_out_to_oci_layout(
    registry, sk, daemon_image, tmp_path
):
    destination = remote(registry, "daemon") + ":v1"
    digest_file = tmp_path / "digest"
    with image_lock():
        sk.copy_in(
            f"docker-daemon:{daemon_image.reference}", destination, "--digestfile", str(digest_file)
        )
    pushed_digest = digest_file.read_text().strip()

    raw = sk.raw_manifest(destination)
    assert sha256_digest(raw) == pushed_digest
    manifest = json.loads(raw)
    assert manifest["config"]["digest"] == daemon_image.image_id
    assert len(manifest["layers"]) == len(daemon_image.layer_diff_ids)
    details = sk.inspect(destination)
    assert details["Digest"] == pushed_digest
    assert details["Layers"] == [layer["digest"] for layer in manifest["layers"]]

    # Out again, byte for byte: the layout's manifest is the registry's, with the same digest.
    exact = tmp_path / "exact"
    sk.copy_out(destination, f"oci:{exact}:v1", "--preserve-digests")
    out_digest, out_raw = layout_manifest(exact, "v1")
    assert out_digest == pushed_digest
    assert out_raw == raw
    assert_layout_complete(exact, out_raw)

    # Out as an OCI image (skopeo converts the manifest and config, the layers stay as they are),
    # then from that layout into another repository, which must store that manifest unchanged.
    converted = tmp_path / "converted"
    sk.copy_out(destination, f"oci:{converted}:v1")
    oci_digest, oci_raw = layout_manifest(converted, "v1")
    oci_manifest = json.loads(oci_raw)
    assert oci_manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert oci_manifest["layers"] == [
        {**layer, "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"}
        for layer in manifest["layers"]
    ]
    assert_layout_complete(converted, oci_raw)
    relayed = remote(registry, "relayed") + ":v1"
    sk.copy_in(f"oci:{converted}:v1", relayed)
    assert sk.raw_manifest(relayed) == oci_raw
    assert sk.inspect(relayed)["Digest"] == oci_digest


@pytest.mark.docker
def test_copy_from_registry_into_docker_daemon_gives_the_same_image(
    registry, sk, daemon_image, tmp_path
):
    repository = remote(registry, "todaemon")
    with image_lock():
        sk.copy_in(f"docker-daemon:{daemon_image.reference}", f"{repository}:v1")
    local_name = f"harbor-twisted-e2e/skopeo-back:{secrets.token_hex(4)}"
    try:
        sk.copy_out(f"{repository}:v1", f"docker-daemon:{local_name}")
        # The image ID is the digest of its config: the registry handed back the same bytes.
        assert image_id(local_name) == daemon_image.image_id
    finally:
        docker("image", "rm", local_name, check=False)


def test_copy_image_index_in_and_out_with_all(registry, sk, multiarch, tmp_path):
    destination = remote(registry, "index") + ":multi"
    sk.copy_in(multiarch.reference, destination, "--all")

    assert sk.raw_manifest(destination) == multiarch.index_raw
    repository = destination.rsplit(":", 1)[0]
    for platform in multiarch.manifests:
        assert sk.raw_manifest(f"{repository}@{platform.digest}") == platform.raw
    arm = multiarch.manifest_for("arm64")
    details = sk.inspect(destination, "--override-arch", "arm64", "--override-variant", "v8")
    assert details["Architecture"] == "arm64"
    assert details["Layers"] == list(arm.layer_digests)
    assert details["Digest"] == multiarch.index_digest

    layout = tmp_path / "out"
    sk.copy_out(destination, f"oci:{layout}:back", "--all")
    out_digest, out_raw = layout_manifest(layout, "back")
    assert out_digest == multiarch.index_digest
    assert out_raw == multiarch.index_raw
    assert_layout_complete(layout, out_raw)


def test_copy_one_platform_of_an_index(registry, sk, multiarch):
    destination = remote(registry, "oneplatform") + ":arm64"
    arm = multiarch.manifest_for("arm64")

    sk.copy_in(
        multiarch.reference, destination, "--override-arch", "arm64", "--override-variant", "v8"
    )

    assert sk.raw_manifest(destination) == arm.raw
    assert sk.inspect(destination)["Digest"] == arm.digest


def test_list_tags(registry, sk, multiarch):
    repository = remote(registry, "tags")
    tags = {"1.0", "1.1", "latest", "v2-rc.1"}
    for tag in sorted(tags):
        sk.copy_in(multiarch.reference, f"{repository}:{tag}", "--all")

    assert sk.list_tags(repository) == tags
    assert set(sk.inspect(f"{repository}:latest")["RepoTags"]) == tags


def test_delete_removes_the_manifest_and_its_tag_only(registry, sk, tmp_path):
    repository = remote(registry, "delete")
    keep = write_oci_index_layout(tmp_path / "keep", seed="keep")
    doomed = write_oci_index_layout(tmp_path / "doomed", seed="doomed")
    sk.copy_in(keep.reference, f"{repository}:keep", "--all")
    sk.copy_in(doomed.reference, f"{repository}:doomed", "--override-arch", "amd64")
    doomed_digest = doomed.manifest_for("amd64").digest
    assert sk.list_tags(repository) == {"keep", "doomed"}

    sk.delete(f"{repository}:doomed")

    complaint = sk.missing(f"{repository}:doomed")
    assert "manifest unknown" in complaint.lower(), complaint
    sk.missing(f"{repository}@{doomed_digest}")
    assert sk.list_tags(repository) == {"keep"}
    assert sk.raw_manifest(f"{repository}:keep") == keep.index_raw


def test_delete_by_digest(registry, sk, multiarch):
    repository = remote(registry, "deldigest")
    amd = multiarch.manifest_for("amd64")
    sk.copy_in(multiarch.reference, f"{repository}:v1", "--override-arch", "amd64")

    sk.delete(f"{repository}@{amd.digest}")

    sk.missing(f"{repository}:v1")
    sk.missing(f"{repository}@{amd.digest}")
    assert sk.list_tags(repository) == set()


def test_layout_helper_writes_what_it_announces(multiarch):
    """The fixture itself: the digests the tests compare against are the layout's real ones."""
    digest, raw = layout_manifest(multiarch.path, multiarch.tag)
    assert digest == multiarch.index_digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    index = json.loads(raw)
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64", "arm64"]
    assert_layout_complete(multiarch.path, raw)
    shared = {m.layer_digests[0] for m in multiarch.manifests}
    assert len(shared) == 1, "both platforms share their first layer"
