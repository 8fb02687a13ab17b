"""Test images for the end-to-end tests, made locally with no network.

Two kinds:

* Docker images built by the local daemon ``FROM scratch`` out of generated files. Their content
  is a pure function of a seed, so the tag carries a hash of that content and an existing image
  under that tag is reused instead of rebuilt.
* OCI image layouts (the ``oci:DIR:TAG`` transport of skopeo) holding an image *index* with one
  manifest per platform, written blob by blob in Python.

Tests that delete these images from the daemon (to prove a pull really downloads) hold
:func:`image_lock` meanwhile, so two test runs sharing one daemon do not pull the rug from under
each other.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MiB = 1024 * 1024
DOCKER_TIMEOUT = 180.0
IMAGE_REPOSITORY = "harbor-twisted-e2e"
FAMILY_LABEL = "org.harbor-twisted.e2e.family"
LOCK_PATH = Path(tempfile.gettempdir()) / "harbor-twisted-e2e-images.lock"
# Bump when the recipe below changes, so old cached images are not mistaken for new ones.
RECIPE_VERSION = "1"

OCI_LAYOUT_VERSION = "1.0.0"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"


class DockerError(RuntimeError):
    """A docker command failed; the message carries the command and its output."""


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def pseudo_random_bytes(seed: str, size: int) -> bytes:
    """Incompressible bytes that depend only on ``seed`` (so layers do not shrink to nothing)."""
    return random.Random(seed).randbytes(size)


# ---------------------------------------------------------------------------------------------
# The docker command line


def docker(
    *args: str,
    timeout: float = DOCKER_TIMEOUT,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``docker ARGS``; with ``check``, raise :class:`DockerError` showing its output.

    ``env`` adds to the environment (``DOCKER_CONFIG`` for a private login, for instance).
    """
    full_env = {**os.environ, "DOCKER_BUILDKIT": "0", **(env or {})}
    command = ["docker", *args]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        input=stdin,
        check=False,
    )
    if check and result.returncode != 0:
        raise DockerError(
            f"`{' '.join(command)}` exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def docker_daemon_problem() -> str | None:
    """``None`` when a Docker daemon answers, else why not (for a clear test failure)."""
    if shutil.which("docker") is None:
        return "the `docker` command is not installed (run scripts/setup-host.sh)"
    try:
        result = docker("info", "--format", "{{.ServerVersion}}", timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 30 s: the daemon is stuck"
    version = result.stdout.strip()
    if result.returncode != 0 or not version or version.startswith("<no value>"):
        return (
            "no Docker daemon answers on this machine (`make test` starts one; by hand: "
            "`setsid nohup dockerd >/var/log/dockerd.log 2>&1 </dev/null &`)\n"
            f"`docker info` said:\n{result.stdout}{result.stderr}"
        )
    return None


def image_id(reference: str) -> str | None:
    """The image ID (``sha256:…``, its config digest) of a local image, or ``None``."""
    result = docker("image", "inspect", "--format", "{{.Id}}", reference, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def image_details(reference: str) -> dict[str, object]:
    """``docker image inspect`` of one local image, as a dict."""
    (details,) = json.loads(docker("image", "inspect", reference).stdout)
    return details


_process_lock = threading.RLock()
_lock_depth = 0
_lock_file: io.TextIOWrapper | None = None


@contextmanager
def image_lock(timeout: float = 300.0) -> Iterator[None]:
    """Hold the machine-wide lock over the cached test images (re-entrant in one process)."""
    global _lock_depth, _lock_file
    with _process_lock:
        if _lock_depth == 0:
            handle = LOCK_PATH.open("a")
            _acquire(handle, timeout)
            _lock_file = handle
        _lock_depth += 1
        try:
            yield
        finally:
            _lock_depth -= 1
            if _lock_depth == 0 and _lock_file is not None:
                fcntl.flock(_lock_file, fcntl.LOCK_UN)
                _lock_file.close()
                _lock_file = None


def _acquire(handle: io.TextIOWrapper, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                raise TimeoutError(f"another test run held {LOCK_PATH} for {timeout} s") from None
            time.sleep(0.2)


# ---------------------------------------------------------------------------------------------
# Docker images built FROM scratch


@dataclass(frozen=True)
class LocalImage:
    """An image in the local Docker daemon."""

    reference: str  # repository:tag in the local daemon, e.g. harbor-twisted-e2e/multilayer:ab12
    image_id: str  # sha256:… of its config
    layer_diff_ids: tuple[str, ...]  # uncompressed layer digests, base first
    family: str  # label shared by a base image and the images built on it


@dataclass(frozen=True)
class _Recipe:
    dockerfile: str
    files: dict[str, bytes]

    def content_hash(self) -> str:
        h = hashlib.sha256(RECIPE_VERSION.encode())
        h.update(self.dockerfile.encode())
        for name in sorted(self.files):
            h.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest())
        return h.hexdigest()[:16]


def ensure_multilayer_image(
    name: str = "multilayer",
    seed: str = "harbor-twisted-e2e",
    layer_sizes: Sequence[int] = (4 * MiB, 3 * MiB, 2 * MiB),
) -> LocalImage:
    """A ``FROM scratch`` image with one layer per size of generated data, plus a small text layer.

    Reused when an image of the same content is already tagged in the daemon.
    """
    files: dict[str, bytes] = {}
    lines = ["FROM scratch"]
    for index, size in enumerate(layer_sizes, start=1):
        filename = f"layer{index}.bin"
        files[filename] = pseudo_random_bytes(f"{seed}/{filename}", size)
        lines.append(f"COPY {filename} /data/{filename}")
    files["hello.txt"] = f"harbor-twisted end-to-end test image ({seed})\n".encode()
    lines.append("COPY hello.txt /etc/hello.txt")
    recipe = _Recipe("\n".join(lines) + "\n", files)
    family = f"{name}-{recipe.content_hash()}"
    lines += [f'LABEL {FAMILY_LABEL}="{family}"', 'CMD ["/nothing-to-run"]']
    recipe = _Recipe("\n".join(lines) + "\n", files)
    return _ensure_built(f"{IMAGE_REPOSITORY}/{name}:{recipe.content_hash()}", recipe, family)


def ensure_derived_image(base: LocalImage, suffix: str = "extra") -> LocalImage:
    """An image ``FROM base`` plus one small layer: it shares every layer of ``base``."""
    content = pseudo_random_bytes(f"{base.family}/{suffix}", 256 * 1024)
    dockerfile = f"FROM {base.reference}\nCOPY {suffix}.bin /data/{suffix}.bin\n"
    recipe = _Recipe(dockerfile, {f"{suffix}.bin": content})
    repository = base.reference.rsplit(":", 1)[0]
    tag = f"{suffix}-{recipe.content_hash()}-{base.image_id.removeprefix('sha256:')[:12]}"
    return _ensure_built(f"{repository}:{tag}", recipe, base.family)


def _ensure_built(reference: str, recipe: _Recipe, family: str) -> LocalImage:
    with image_lock():
        if image_id(reference) is None:
            with tempfile.TemporaryDirectory(prefix="harbor-e2e-build-") as context:
                root = Path(context)
                (root / "Dockerfile").write_text(recipe.dockerfile)
                for filename, data in recipe.files.items():
                    (root / filename).write_bytes(data)
                docker("build", "--quiet", "--tag", reference, str(root))
        return local_image(reference, family)


def local_image(reference: str, family: str | None = None) -> LocalImage:
    """Describe an image already in the daemon."""
    details = image_details(reference)
    rootfs = details.get("RootFS")
    layers = rootfs.get("Layers", []) if isinstance(rootfs, dict) else []
    config = details.get("Config")
    labels = (config.get("Labels") if isinstance(config, dict) else None) or {}
    return LocalImage(
        reference=reference,
        image_id=str(details["Id"]),
        layer_diff_ids=tuple(layers),
        family=family or str(labels.get(FAMILY_LABEL, "")),
    )


def remove_image_completely(image: LocalImage) -> None:
    """Delete an image from the daemon under every name, with the images built on top of it.

    Afterwards a pull must download all its layers again. Hold :func:`image_lock` around this
    and the pull, and call :func:`restore_tag` once the image is back.
    """
    with image_lock():
        family_ids = docker(
            "image",
            "ls",
            "--quiet",
            "--no-trunc",
            "--filter",
            f"label={FAMILY_LABEL}={image.family}",
        ).stdout.split()
        # Children first: an image with dependent child images cannot be removed.
        for other in dict.fromkeys(family_ids):
            if other != image.image_id:
                docker("image", "rm", "--force", other, check=False)
        if image_id(image.image_id) is not None:
            docker("image", "rm", "--force", image.image_id)


def restore_tag(image: LocalImage) -> None:
    """Tag the (re-pulled) image under its cache name again, so the next run reuses it."""
    docker("tag", image.image_id, image.reference)


# ---------------------------------------------------------------------------------------------
# OCI image layouts with an image index


@dataclass(frozen=True)
class PlatformManifest:
    os: str
    architecture: str
    variant: str | None
    digest: str
    raw: bytes
    config_digest: str
    layer_digests: tuple[str, ...]


@dataclass(frozen=True)
class OciIndexLayout:
    """An OCI image layout directory whose ``tag`` names an image index."""

    path: Path
    tag: str
    index_digest: str
    index_raw: bytes
    manifests: tuple[PlatformManifest, ...]

    @property
    def reference(self) -> str:
        """The skopeo source/destination name, ``oci:DIR:TAG``."""
        return f"oci:{self.path}:{self.tag}"

    def manifest_for(self, architecture: str) -> PlatformManifest:
        (found,) = [m for m in self.manifests if m.architecture == architecture]
        return found


DEFAULT_PLATFORMS: tuple[tuple[str, str, str | None], ...] = (
    ("linux", "amd64", None),
    ("linux", "arm64", "v8"),
)


def write_oci_index_layout(
    directory: Path,
    tag: str = "multiarch",
    seed: str = "harbor-twisted-e2e",
    platforms: Sequence[tuple[str, str, str | None]] = DEFAULT_PLATFORMS,
    shared_layer_size: int = 1 * MiB,
) -> OciIndexLayout:
    """Write an OCI image layout holding an index of one manifest per platform.

    Every platform image has a layer shared by all of them (same blob) and a layer of its own.
    The same arguments always produce the same bytes, hence the same digests.
    """
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (directory / "oci-layout").write_text(json.dumps({"imageLayoutVersion": OCI_LAYOUT_VERSION}))

    shared = _layer({"data/shared.bin": pseudo_random_bytes(f"{seed}/shared", shared_layer_size)})
    manifests: list[PlatformManifest] = []
    for os_name, architecture, variant in platforms:
        platform = "/".join(p for p in (os_name, architecture, variant) if p)
        own = _layer(
            {
                "etc/platform": f"{platform}\n".encode(),
                "data/own.bin": pseudo_random_bytes(f"{seed}/{platform}", 64 * 1024),
            }
        )
        config: dict[str, object] = {
            "created": "2024-01-01T00:00:00Z",
            "architecture": architecture,
            "os": os_name,
            "config": {"Labels": {"org.harbor-twisted.e2e.seed": seed}},
            "rootfs": {"type": "layers", "diff_ids": [shared.diff_id, own.diff_id]},
            "history": [{"created": "2024-01-01T00:00:00Z", "comment": "generated"}] * 2,
        }
        if variant:
            config["variant"] = variant
        config_raw = _canonical(config)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": _descriptor(OCI_CONFIG, config_raw),
            "layers": [
                _descriptor(OCI_LAYER_GZIP, shared.blob),
                _descriptor(OCI_LAYER_GZIP, own.blob),
            ],
        }
        manifest_raw = _canonical(manifest)
        for blob in (shared.blob, own.blob, config_raw, manifest_raw):
            _write_blob(directory, blob)
        manifests.append(
            PlatformManifest(
                os=os_name,
                architecture=architecture,
                variant=variant,
                digest=sha256_digest(manifest_raw),
                raw=manifest_raw,
                config_digest=sha256_digest(config_raw),
                layer_digests=(sha256_digest(shared.blob), sha256_digest(own.blob)),
            )
        )

    index_entries = []
    for m in manifests:
        platform_field = {"architecture": m.architecture, "os": m.os}
        if m.variant:
            platform_field["variant"] = m.variant
        index_entries.append({**_descriptor(OCI_MANIFEST, m.raw), "platform": platform_field})
    index_raw = _canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": index_entries})
    _write_blob(directory, index_raw)
    _tag_in_layout(directory, tag, _descriptor(OCI_INDEX, index_raw))
    return OciIndexLayout(
        path=directory,
        tag=tag,
        index_digest=sha256_digest(index_raw),
        index_raw=index_raw,
        manifests=tuple(manifests),
    )


def read_layout_tag(directory: Path, tag: str) -> dict[str, object]:
    """The descriptor that ``index.json`` of a layout names ``tag``."""
    top = json.loads((directory / "index.json").read_text())
    for descriptor in top.get("manifests", []):
        if descriptor.get("annotations", {}).get(REF_NAME) == tag:
            return descriptor
    raise KeyError(f"{tag!r} is not in {directory / 'index.json'}")


def read_layout_blob(directory: Path, digest: str) -> bytes:
    """A blob of a layout, checked against its digest."""
    algorithm, _, hex_digest = digest.partition(":")
    data = (directory / "blobs" / algorithm / hex_digest).read_bytes()
    if sha256_digest(data) != digest:
        raise ValueError(f"blob {digest} in {directory} holds other content")
    return data


@dataclass(frozen=True)
class _Layer:
    blob: bytes  # gzip-compressed tar
    diff_id: str  # digest of the uncompressed tar


def _layer(files: Mapping[str, bytes]) -> _Layer:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o644
            info.mtime = 1704067200  # 2024-01-01, fixed so the bytes are reproducible
            tar.addfile(info, io.BytesIO(files[name]))
    uncompressed = raw.getvalue()
    return _Layer(blob=gzip.compress(uncompressed, mtime=0), diff_id=sha256_digest(uncompressed))


def _canonical(document: Mapping[str, object]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _descriptor(media_type: str, data: bytes) -> dict[str, object]:
    return {"mediaType": media_type, "digest": sha256_digest(data), "size": len(data)}


def _write_blob(directory: Path, data: bytes) -> None:
    path = directory / "blobs" / "sha256" / sha256_digest(data).removeprefix("sha256:")
    if not path.exists():
        path.write_bytes(data)


def _tag_in_layout(directory: Path, tag: str, descriptor: dict[str, object]) -> None:
    index_path = directory / "index.json"
    top: dict[str, object] = {"schemaVersion": 2, "manifests": []}
    if index_path.exists():
        top = json.loads(index_path.read_text())
    entries = [
        d
        for d in top.get("manifests", [])  # type: ignore[union-attr]
        if d.get("annotations", {}).get(REF_NAME) != tag
    ]
    entries.append({**descriptor, "annotations": {REF_NAME: tag}})
    top["manifests"] = entries
    index_path.write_text(json.dumps(top, indent=2))
