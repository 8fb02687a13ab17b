"""Filesystem blob store: content-addressed, deduplicated, crash-safe.

Layout under the data directory::

    blobs/<algorithm>/<first two hex>/<hex>   finished blobs, immutable
    uploads/<uuid>/data                       bytes received so far
    uploads/<uuid>/repository                 the repository the upload belongs to

A blob only appears under its digest name after its bytes were verified and fsynced, by an
atomic rename: a crash leaves either no blob or the whole blob, never a partial one.
Methods here do blocking file I/O; callers run the heavy ones (commit, rehash) in a thread.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from harbor_twisted.storage.digests import Digest, new_hasher

UPLOAD_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
READ_SIZE = 1024 * 1024


class UploadMissing(LookupError):
    """No upload with that id exists (or it belongs to another repository)."""


class DigestMismatch(ValueError):
    """The uploaded bytes do not hash to the digest the client announced."""

    def __init__(self, expected: Digest, actual: Digest) -> None:
        super().__init__(f"content digest {actual} does not match {expected}")
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True)
class StoredBlob:
    digest: Digest
    size: int


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DigestLock:
    """An exclusive lock on one digest (a shard of digests), across threads and processes.

    Garbage collection deletes a blob file under it only after re-checking that no row
    names the digest; finishing an upload holds it from the file's rename (or dedup) until
    its row is committed. So a blob re-uploaded during a sweep keeps its file.
    """

    def __init__(self, path: Path) -> None:
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> DigestLock:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


class FilesystemBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blob_root = root / "blobs"
        self.upload_root = root / "uploads"
        self.lock_root = root / "locks"

    def prepare(self) -> None:
        for directory in (self.blob_root, self.upload_root, self.lock_root):
            directory.mkdir(parents=True, exist_ok=True)

    def lock_digest(self, digest: Digest) -> DigestLock:
        """Block until the digest's lock is ours (256 shards per algorithm)."""
        self.lock_root.mkdir(parents=True, exist_ok=True)
        return DigestLock(self.lock_root / f"{digest.algorithm}-{digest.hex[:2]}")

    def blob_files(self) -> Iterator[tuple[Digest, float]]:
        """Every stored blob file with its modification time (for orphan sweeping)."""
        if not self.blob_root.is_dir():
            return
        for algorithm in os.scandir(self.blob_root):
            if not algorithm.is_dir():
                continue
            for shard in os.scandir(algorithm.path):
                if not shard.is_dir():
                    continue
                for entry in os.scandir(shard.path):
                    with contextlib.suppress(FileNotFoundError):
                        yield Digest(algorithm.name, entry.name), entry.stat().st_mtime

    # -- finished blobs -------------------------------------------------------------------

    def blob_path(self, digest: Digest) -> Path:
        return self.blob_root / digest.relative_path

    def open_blob(self, digest: Digest) -> BinaryIO:
        return open(self.blob_path(digest), "rb")

    def delete_blob(self, digest: Digest) -> bool:
        try:
            self.blob_path(digest).unlink()
        except FileNotFoundError:
            return False
        return True

    # -- uploads --------------------------------------------------------------------------

    def upload_dir(self, upload_id: str) -> Path:
        if not UPLOAD_ID.match(upload_id):
            raise UploadMissing(upload_id)
        return self.upload_root / upload_id

    def upload_data_path(self, upload_id: str) -> Path:
        return self.upload_dir(upload_id) / "data"

    def create_upload(self, upload_id: str, repository: str) -> None:
        directory = self.upload_dir(upload_id)
        directory.mkdir(parents=True)
        (directory / "repository").write_text(repository, encoding="utf-8")
        (directory / "data").touch()

    def upload_repository(self, upload_id: str) -> str:
        try:
            return (self.upload_dir(upload_id) / "repository").read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            raise UploadMissing(upload_id) from None

    def check_upload(self, upload_id: str, repository: str) -> int:
        """The upload's current size, if it exists and belongs to ``repository``."""
        if self.upload_repository(upload_id) != repository:
            raise UploadMissing(upload_id)
        try:
            return self.upload_data_path(upload_id).stat().st_size
        except FileNotFoundError:
            raise UploadMissing(upload_id) from None

    def remove_upload(self, upload_id: str) -> None:
        with contextlib.suppress(UploadMissing):
            shutil.rmtree(self.upload_dir(upload_id), ignore_errors=True)

    def upload_ids(self) -> Iterator[tuple[str, float]]:
        """Every upload directory with its last modification time."""
        if not self.upload_root.is_dir():
            return
        for entry in os.scandir(self.upload_root):
            if UPLOAD_ID.match(entry.name):
                data = Path(entry.path) / "data"
                try:
                    mtime = data.stat().st_mtime
                except FileNotFoundError:
                    mtime = entry.stat().st_mtime
                yield entry.name, mtime

    def hash_upload(self, upload_id: str, algorithm: str) -> Digest:
        """Hash what is on disk: for uploads resumed in another process or after a restart."""
        hasher = new_hasher(algorithm)
        with open(self.upload_data_path(upload_id), "rb") as source:
            while chunk := source.read(READ_SIZE):
                hasher.update(chunk)
        return Digest(algorithm, hasher.hexdigest())

    def commit_upload(self, upload_id: str, expected: Digest, actual: Digest) -> StoredBlob:
        """Verify, fsync and atomically move an upload into the blob store."""
        if actual != expected:
            raise DigestMismatch(expected, actual)
        data_path = self.upload_data_path(upload_id)
        size = data_path.stat().st_size
        target = self.blob_path(expected)
        if target.exists():
            # Deduplicated: the same content is already stored.
            self.remove_upload(upload_id)
            return StoredBlob(expected, size)
        with open(data_path, "rb") as handle:
            os.fsync(handle.fileno())
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(data_path, target)
        _fsync_directory(target.parent)
        self.remove_upload(upload_id)
        return StoredBlob(expected, size)

    def expire_uploads(self, older_than: float, keep: set[str]) -> list[str]:
        """Remove upload directories untouched since ``older_than`` (a Unix time)."""
        removed = []
        for upload_id, mtime in list(self.upload_ids()):
            if mtime < older_than and upload_id not in keep:
                self.remove_upload(upload_id)
                removed.append(upload_id)
        return removed
