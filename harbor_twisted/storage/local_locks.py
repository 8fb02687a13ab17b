"""One host's exclusions for a shared store: flocks in its local data directory.

Right when one host uses the store (SQLite is one host by definition): the processes of a
host share its data directory, so they exclude each other, and no one else writes.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from harbor_twisted.storage.digests import Digest
from harbor_twisted.storage.filesystem import DigestLock


class FileLock:
    """An exclusive flock held through an open descriptor; closing it lets go."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class LocalLocks:
    """Digest locks under ``lock_root`` (256 shards per algorithm), upload locks in
    ``upload_dir`` (one file per upload, removed with the upload)."""

    def __init__(self, lock_root: Path, upload_dir: Path) -> None:
        self.lock_root = lock_root
        self.upload_dir = upload_dir

    def lock_digest(self, digest: Digest) -> DigestLock:
        self.lock_root.mkdir(parents=True, exist_ok=True)
        return DigestLock(self.lock_root / f"{digest.algorithm}-{digest.hex[:2]}")

    def try_lock_upload(self, upload_id: str) -> FileLock | None:
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.upload_dir / f"{upload_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return FileLock(fd)

    def forget_upload(self, upload_id: str) -> None:
        (self.upload_dir / f"{upload_id}.lock").unlink(missing_ok=True)
