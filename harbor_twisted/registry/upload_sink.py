"""Where request bodies go: straight into an upload's file, hashed on the way.

twisted.web normally spools a whole body (memory or a temp file) before the resource runs.
``RegistryRequest.gotLength`` (see request.py) swaps in one of these sinks instead, so a
layer is written once, to its final disk, while it arrives; memory stays flat.

A sink must offer ``write``, ``tell``, ``seek``, ``read`` and ``close``: that is what
twisted.web calls on ``Request.content``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import os
from dataclasses import dataclass, field
from typing import Any

from harbor_twisted.storage.digests import DEFAULT_ALGORITHM, Digest, new_hasher


@dataclass
class UploadHashState:
    """The running hash of an upload, valid while ``hashed_bytes`` equals the file size."""

    algorithm: str = DEFAULT_ALGORITHM
    hasher: Any = field(default_factory=new_hasher)
    hashed_bytes: int = 0

    def digest_if_current(self, size: int, algorithm: str) -> Digest | None:
        if self.hasher is None or self.hashed_bytes != size or self.algorithm != algorithm:
            return None
        return Digest(self.algorithm, self.hasher.copy().hexdigest())


class UploadHashes:
    """Process-local running hashes; another process or a restart re-hashes from disk."""

    def __init__(self) -> None:
        self._states: dict[str, UploadHashState] = {}
        self.writing: set[str] = set()

    def state_for(self, upload_id: str, size: int, algorithm: str) -> UploadHashState:
        state = self._states.get(upload_id)
        if state is None or state.hashed_bytes != size or state.algorithm != algorithm:
            if size == 0:
                state = UploadHashState(algorithm, new_hasher(algorithm), 0)
            else:
                state = UploadHashState(algorithm, None, size)  # unknown: re-hash at commit
            self._states[upload_id] = state
        return state

    def get(self, upload_id: str) -> UploadHashState | None:
        return self._states.get(upload_id)

    def forget(self, upload_id: str) -> None:
        self._states.pop(upload_id, None)


class BodySink:
    """Common file-like surface for twisted.web."""

    received = 0
    closed = False

    def tell(self) -> int:
        return self.received

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def read(self, size: int = -1) -> bytes:
        return b""

    def write(self, data: bytes) -> None:
        self.received += len(data)

    def close(self) -> None:
        self.closed = True


class DiscardSink(BodySink):
    """Swallows a body we will refuse anyway (the error is answered once it has arrived)."""


class CappedBuffer(BodySink):
    """Keeps a small body (a manifest) in memory up to a limit, remembering if it overflowed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = io.BytesIO()
        self.overflowed = False

    def write(self, data: bytes) -> None:
        self.received += len(data)
        if self.received > self.limit:
            self.overflowed = True
            self.buffer = io.BytesIO()
        elif not self.overflowed:
            self.buffer.write(data)

    def getvalue(self) -> bytes:
        return self.buffer.getvalue()


class UploadSink(BodySink):
    """Appends to an upload's data file under an exclusive lock, hashing as it writes.

    On a write error (a full disk) the file is cut back to where this request started and
    the hash restored, so the upload stays consistent and the client may retry the chunk.
    """

    def __init__(
        self, path: str, upload_id: str, hashes: UploadHashes, state: UploadHashState
    ) -> None:
        self.upload_id = upload_id
        self.hashes = hashes
        self.state = state
        self.error: OSError | None = None
        self._file = open(path, "r+b")  # noqa: SIM115 - closed in close()
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.close()
            raise
        self._file.seek(0, os.SEEK_END)
        self.start_offset = self._file.tell()
        self._hash_at_start = state.hasher.copy() if state.hasher is not None else None
        hashes.writing.add(upload_id)

    @property
    def offset(self) -> int:
        return self.start_offset + self.received

    def write(self, data: bytes) -> None:
        if self.error is not None or self.closed:
            return
        try:
            self._file.write(data)
        except OSError as exc:
            self._roll_back(exc)
            return
        self.received += len(data)
        if self.state.hasher is not None:
            self.state.hasher.update(data)
        self.state.hashed_bytes += len(data)

    def _roll_back(self, exc: OSError) -> None:
        self.error = exc
        with contextlib.suppress(OSError):
            self._file.flush()
        os.ftruncate(self._file.fileno(), self.start_offset)
        self._file.seek(self.start_offset)
        self.received = 0
        self.state.hasher = self._hash_at_start
        self.state.hashed_bytes = self.start_offset

    @property
    def out_of_space(self) -> bool:
        return self.error is not None and self.error.errno in (errno.ENOSPC, errno.EDQUOT)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._file.flush()
        except OSError as exc:
            self._roll_back(exc)
        finally:
            self._file.close()
            self.hashes.writing.discard(self.upload_id)
