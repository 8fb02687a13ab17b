"""Filesystem blob store: content-addressed, deduplicated, crash-safe.

Layout under the data directory::

    blobs/<algorithm>/<first two hex>/<hex>   finished blobs, immutable
    uploads/<uuid>/data                       bytes received so far
    uploads/<uuid>/repository                 the repository the upload belongs to
    locks/<algorithm>-<first two hex>         digest locks (flock)

A blob only appears under its digest name after its bytes were verified and fsynced, by an
atomic rename: a crash leaves either no blob or the whole blob, never a partial one.
Methods here do blocking file I/O; callers run them in a thread, except the writer's
``write``, which appends a request body as it arrives.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from harbor_twisted.storage.base import (
    UPLOAD_ID,
    BlobMissing,
    BlobReader,
    DigestMismatch,
    Redirect,
    StoredBlob,
    UploadBusy,
    UploadMissing,
)
from harbor_twisted.storage.digests import DEFAULT_ALGORITHM, Digest, new_hasher
from harbor_twisted.storage.hash_thread import HashThread
from harbor_twisted.storage.running_hash import RunningHash, UploadHashes
from harbor_twisted.storage.writeback import WRITEBACK_BYTES, start_writeback

READ_SIZE = 1024 * 1024
# A body's first bytes are hashed on the caller's thread; past this many a writer hashes on
# a thread of its own (hash_thread.py): small blobs and manifests pay for no thread.
DIRECT_HASH_BYTES = 4 * 1024 * 1024


def _relative_path(digest: Digest) -> str:
    """Where a blob lives below the blob root (and below nginx's X-Accel location)."""
    return f"{digest.algorithm}/{digest.hex[:2]}/{digest.hex}"


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _private_copy(file: BinaryIO, path: Path) -> BinaryIO:
    """Give an upload whose bytes are also a stored blob (hard-linked) a copy of its own,
    so appending to it can never change the blob. The caller holds ``file``'s lock."""
    spare = path.with_name("data.copy")
    with open(spare, "wb") as copy:
        file.seek(0)
        shutil.copyfileobj(file, copy, READ_SIZE)
        copy.flush()
        os.fsync(copy.fileno())
    fresh = open(spare, "r+b")  # noqa: SIM115 - the writer closes it
    fcntl.flock(fresh.fileno(), fcntl.LOCK_EX)  # nobody else knows this file yet
    os.replace(spare, path)
    file.close()
    return fresh


class DigestLock:
    """An exclusive flock on one digest (a shard of digests), across threads and processes."""

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


class FileUploadWriter:
    """Appends to an upload's data file under an exclusive flock, hashing as it writes.

    On a write error (a full disk) the file is cut back to where this writer started and
    the hash restored, so the upload stays consistent and the client may retry the chunk.
    """

    def __init__(self, store: FilesystemBlobStore, upload_id: str, file: BinaryIO,
                 state: RunningHash) -> None:
        self._store = store
        self._upload_id = upload_id
        self._file: BinaryIO | None = file
        self._state = state
        self._start = file.seek(0, os.SEEK_END)
        self._hash_at_start = state.hasher.copy() if state.hasher is not None else None
        self._appended = 0
        self._written_back = self._start  # where the queued writeback ends
        self._digest: Digest | None = None
        self._hashing: HashThread | None = None
        self._pause: Callable[[], None] | None = None
        self._resume: Callable[[], None] | None = None
        store.uploads.writing.add(upload_id)

    @property
    def upload_id(self) -> str:
        return self._upload_id

    @property
    def size(self) -> int:
        return self._start + self._appended

    @property
    def appended(self) -> int:
        return self._appended

    def write(self, data: bytes) -> None:
        assert self._file is not None, "write after close"
        try:
            self._file.write(data)
            if self.size + len(data) - self._written_back >= WRITEBACK_BYTES:
                self._file.flush()  # a full disk may say so here: rolled back as well
                start_writeback(self._file.fileno(), self._written_back,
                                self.size + len(data) - self._written_back)
                self._written_back = self.size + len(data)
        except OSError:
            self._roll_back()
            raise
        self._appended += len(data)
        self._hash(data)
        self._state.hashed_bytes += len(data)

    def _hash(self, data: bytes) -> None:
        hasher = self._state.hasher
        if hasher is None:  # another process wrote part of it: re-hashed at commit
            return
        if self._hashing is None and self._appended > DIRECT_HASH_BYTES:
            self._hashing = HashThread(hasher.update, self._pause, self._resume)
        if self._hashing is not None:
            self._hashing.put(data)
        else:
            hasher.update(data)

    def throttle(self, pause: Callable[[], None], resume: Callable[[], None]) -> None:
        """Paused while the hash thread's backlog is full."""
        self._pause, self._resume = pause, resume

    def _hashed(self) -> None:
        """Wait for the hash thread: the hash covers every byte written."""
        if self._hashing is not None:
            hashing, self._hashing = self._hashing, None
            hashing.finish()

    def _roll_back(self) -> None:
        assert self._file is not None
        self._hashed()  # its hasher is dropped below
        with contextlib.suppress(OSError):
            self._file.flush()
        os.ftruncate(self._file.fileno(), self._start)
        self._file.seek(self._start)
        self._appended = 0
        self._written_back = self._start
        self._state.hasher = self._hash_at_start
        self._state.hashed_bytes = self._start

    def _flush(self) -> None:
        assert self._file is not None
        self._hashed()
        try:
            self._file.flush()
        except OSError:
            self._roll_back()
            raise

    def close(self) -> None:
        if self._file is None:
            return
        try:
            self._flush()
        finally:
            self._file.close()
            self._file = None
            self._store.uploads.writing.discard(self._upload_id)

    def digest(self, algorithm: str) -> Digest:
        """Of everything stored: the running hash, else the stored bytes re-hashed."""
        assert self._file is not None, "digest after close"
        self._flush()
        digest = self._state.current(self.size, algorithm)
        if digest is None:
            hasher = new_hasher(algorithm)
            self._file.seek(0)
            while chunk := self._file.read(READ_SIZE):
                hasher.update(chunk)
            self._file.seek(0, os.SEEK_END)
            digest = Digest(algorithm, hasher.hexdigest())
        return digest

    def commit(self, expected: Digest) -> StoredBlob:
        """Verify, fsync and atomically link the upload's bytes into the blob store.

        The upload itself stays (locked, still this writer's) until ``abort``: the caller
        ends it once the blob is recorded, so a crash in between leaves a complete upload
        that a repeated PUT finishes, never an upload gone with its blob unrecorded.
        """
        assert self._file is not None, "commit after close"
        actual = self.digest(expected.algorithm)
        if actual != expected:
            raise DigestMismatch(expected, actual)
        size = self.size
        target = self._store.blob_root / _relative_path(expected)
        if not target.exists():  # else deduplicated: the same content is already stored
            os.fsync(self._file.fileno())
            target.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):  # stored meanwhile: deduplicated
                os.link(self._store.upload_root / self._upload_id / "data", target)
            _fsync_directory(target.parent)
        return StoredBlob(expected, size)

    def abort(self) -> None:
        self._hashed()
        if self._file is not None:
            self._file.close()
            self._file = None
            self._store.uploads.writing.discard(self._upload_id)
        self._store.remove_upload(self._upload_id)


class FilesystemBlobStore:
    def __init__(self, root: Path, x_accel_prefix: str | None = None) -> None:
        self.blob_root = root / "blobs"
        self.upload_root = root / "uploads"
        self.lock_root = root / "locks"
        self.x_accel_prefix = x_accel_prefix  # nginx's internal location over blobs/
        self.uploads = UploadHashes()

    def prepare(self) -> None:
        for directory in (self.blob_root, self.upload_root, self.lock_root):
            directory.mkdir(parents=True, exist_ok=True)

    # -- uploads --------------------------------------------------------------------------

    def _upload_dir(self, upload_id: str) -> Path:
        if not UPLOAD_ID.match(upload_id):
            raise UploadMissing(upload_id)
        return self.upload_root / upload_id

    def create_upload(self, upload_id: str, repository: str) -> None:
        directory = self._upload_dir(upload_id)
        directory.mkdir(parents=True)
        (directory / "repository").write_text(repository, encoding="utf-8")
        (directory / "data").touch()

    def _checked_dir(self, upload_id: str, repository: str) -> Path:
        directory = self._upload_dir(upload_id)
        try:
            owner = (directory / "repository").read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            raise UploadMissing(upload_id) from None
        if owner != repository:
            raise UploadMissing(upload_id)
        return directory

    def open_upload(
        self, upload_id: str, repository: str, algorithm: str = DEFAULT_ALGORITHM
    ) -> FileUploadWriter:
        path = self._checked_dir(upload_id, repository) / "data"
        try:
            file: BinaryIO = open(path, "r+b")  # noqa: SIM115 - the writer closes it
        except FileNotFoundError:
            raise UploadMissing(upload_id) from None
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            raise UploadBusy(upload_id) from None
        if os.fstat(file.fileno()).st_nlink > 1:  # committed, then a crash before its end
            file = _private_copy(file, path)
        size = os.fstat(file.fileno()).st_size
        state = self.uploads.hash_for(upload_id, size, algorithm)
        return FileUploadWriter(self, upload_id, file, state)

    def upload_size(self, upload_id: str, repository: str) -> int:
        try:
            return (self._checked_dir(upload_id, repository) / "data").stat().st_size
        except FileNotFoundError:
            raise UploadMissing(upload_id) from None

    def remove_upload(self, upload_id: str) -> None:
        self.uploads.forget(upload_id)
        with contextlib.suppress(UploadMissing):
            shutil.rmtree(self._upload_dir(upload_id), ignore_errors=True)

    def busy_uploads(self) -> set[str]:
        return set(self.uploads.writing)

    def _upload_times(self) -> Iterator[tuple[str, float]]:
        """Every upload directory with its last modification time."""
        if not self.upload_root.is_dir():
            return
        for entry in os.scandir(self.upload_root):
            if UPLOAD_ID.match(entry.name):
                try:
                    mtime = (Path(entry.path) / "data").stat().st_mtime
                except FileNotFoundError:
                    mtime = entry.stat().st_mtime
                yield entry.name, mtime

    def expire_uploads(self, older_than: float, keep: set[str]) -> list[str]:
        removed = []
        for upload_id, mtime in list(self._upload_times()):
            if mtime < older_than and upload_id not in keep | self.uploads.writing:
                if self._written_elsewhere(upload_id):
                    continue
                self.remove_upload(upload_id)
                removed.append(upload_id)
        return removed

    def _written_elsewhere(self, upload_id: str) -> bool:
        """Whether a writer of another process (another worker) holds the upload's flock."""
        try:
            fd = os.open(self.upload_root / upload_id / "data", os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing drops the flock, if it was taken
        return False

    # -- finished blobs -------------------------------------------------------------------

    def _blob_path(self, digest: Digest) -> Path:
        return self.blob_root / _relative_path(digest)

    def blob_size(self, digest: Digest) -> int | None:
        try:
            return self._blob_path(digest).stat().st_size
        except FileNotFoundError:
            return None

    def open_blob(self, digest: Digest, offset: int = 0) -> BlobReader:
        try:
            handle = open(self._blob_path(digest), "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError:
            raise BlobMissing(str(digest)) from None
        if offset:
            handle.seek(offset)
        return handle

    def redirect(self, digest: Digest) -> Redirect | None:
        if self.x_accel_prefix is None:
            return None
        return Redirect(f"{self.x_accel_prefix}/{_relative_path(digest)}", internal=True)

    def delete_blob(self, digest: Digest) -> bool:
        try:
            self._blob_path(digest).unlink()
        except FileNotFoundError:
            return False
        return True

    def list_blobs(self) -> Iterator[tuple[Digest, float]]:
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

    def lock_digest(self, digest: Digest) -> DigestLock:
        """Block until the digest's lock is ours (256 shards per algorithm)."""
        self.lock_root.mkdir(parents=True, exist_ok=True)
        return DigestLock(self.lock_root / f"{digest.algorithm}-{digest.hex[:2]}")
