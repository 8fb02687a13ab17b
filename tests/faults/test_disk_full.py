"""A full disk during uploads: a clear error, nothing half-stored, pulls unaffected, and
pushes work again once space is freed. The data directory is a small tmpfs of its own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.oci import push_blob, push_image, sha256, unique_repo
from tests.support.server import admin_http

TMPFS_MIB = 64
BIG = 16 * 1024 * 1024  # larger than the room the filler leaves
ROOM = 4 * 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB tmpfs (unmounted after the server using it has stopped)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MIB}m", "tmpfs",
                    str(mount_point)], check=True, timeout=30)
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False, timeout=30)


def _fill(disk: Path, leave: int) -> Path:
    filler = disk / "filler"
    with open(filler, "wb") as out:
        block = b"\0" * (1024 * 1024)
        while shutil.disk_usage(disk).free > leave + len(block):
            out.write(block)
            out.flush()
    return filler


def _assert_out_of_space(response) -> None:
    assert response.status_code == 507, (response.status_code, response.text[:300])
    error = json.loads(response.content)["errors"][0]
    assert error["code"] == "BLOB_UPLOAD_INVALID"
    assert "out of storage space" in error["message"]


def _uploads(disk: Path) -> dict[str, int]:
    """Each upload kept on the disk, with the bytes it holds."""
    return {data.parent.name: data.stat().st_size
            for data in (disk / "data" / "uploads").glob("*/data")}


def test_a_full_disk_fails_uploads_cleanly_and_recovers(small_disk, start_registry):
    server = start_registry(data_dir=small_disk / "data")
    image = push_image(server.url, unique_repo("full"), "before")
    repo = unique_repo("full")
    started = admin_http.post(f"{server.url}/v2/{repo}/blobs/uploads/", timeout=10)
    chunked = server.url + started.headers["Location"]
    filler = _fill(small_disk, ROOM)
    big = os.urandom(BIG)

    monolithic = admin_http.post(f"{server.url}/v2/{repo}/blobs/uploads/",
                                 params={"digest": sha256(big)}, data=big, timeout=60)
    _assert_out_of_space(monolithic)
    patched = admin_http.patch(chunked, data=big, timeout=60)
    _assert_out_of_space(patched)
    # nothing half-stored: the monolithic upload is gone, the chunked one holds no byte
    assert _uploads(small_disk) == {chunked.rsplit("/", 1)[1]: 0}
    assert admin_http.get(chunked, timeout=10).headers["Range"] == "0-0"  # the chunk is gone
    assert admin_http.head(f"{server.url}/v2/{repo}/blobs/{sha256(big)}",
                           timeout=10).status_code == 404

    # pulls keep working on the full disk
    pulled = admin_http.get(f"{server.url}/v2/{image.repo}/manifests/before", timeout=10,
                            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert pulled.status_code == 200 and sha256(pulled.content) == image.digest
    layer = admin_http.get(f"{server.url}/v2/{image.repo}/blobs/{sha256(image.layers[0])}",
                           timeout=10)
    assert layer.content == image.layers[0]

    # space freed: the same upload takes the chunk, and new pushes work
    filler.unlink()
    assert admin_http.patch(chunked, data=big, timeout=60).status_code == 202
    done = admin_http.put(chunked, params={"digest": sha256(big)}, timeout=60)
    assert done.status_code == 201, done.text
    assert push_blob(server.url, repo, big[::-1]) == sha256(big[::-1])
    push_image(server.url, repo, "after")
    fetched = admin_http.get(f"{server.url}/v2/{repo}/blobs/{sha256(big)}", timeout=30)
    assert sha256(fetched.content) == sha256(big)
