"""An upload's running hash, kept by the process between one request's writer and the next.

Hash states cannot be saved, so the hash is only good while it covers every stored byte;
a writer in another process (or after a failed append) re-hashes the stored bytes instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harbor_twisted.storage.digests import Digest, new_hasher


@dataclass
class RunningHash:
    """An upload's hash as this process computed it, valid while it covers every byte."""

    algorithm: str
    hasher: Any  # None: unknown (written by another process), re-hash at commit
    hashed_bytes: int

    def current(self, size: int, algorithm: str) -> Digest | None:
        if self.hasher is None or self.hashed_bytes != size or self.algorithm != algorithm:
            return None
        return Digest(self.algorithm, self.hasher.copy().hexdigest())


@dataclass
class UploadHashes:
    """Process-local: running hashes between one request's writer and the next, and which
    uploads a writer holds (expiry leaves those alone)."""

    hashes: dict[str, RunningHash] = field(default_factory=dict)
    writing: set[str] = field(default_factory=set)

    def hash_for(self, upload_id: str, size: int, algorithm: str) -> RunningHash:
        state = self.hashes.get(upload_id)
        if state is None or state.hashed_bytes != size or state.algorithm != algorithm:
            hasher = new_hasher(algorithm) if size == 0 else None
            state = RunningHash(algorithm, hasher, size)
            self.hashes[upload_id] = state
        return state

    def forget(self, upload_id: str) -> None:
        self.hashes.pop(upload_id, None)
