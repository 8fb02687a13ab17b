"""Blob contents on disk: generated once, streamed by sendfile, never held in memory.

Each upload gets its own blob: the shared file plus a short random suffix. The digest of
that blob costs nothing, because the hash state of the file is copied and the suffix fed to
it, so no registry can skip work because it already holds the content.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hashlib import _Hash

MiB = 1024 * 1024
RANDOM_BLOCK = 64 * MiB  # repeated to fill the file; registries do not compress
SUFFIX_BYTES = 32


@dataclass(frozen=True)
class Payload:
    path: Path
    size: int
    state: _Hash  # sha256 of the whole file, to copy and extend

    def blob(self) -> Blob:
        suffix = os.urandom(SUFFIX_BYTES)
        state = self.state.copy()
        state.update(suffix)
        return Blob(payload=self, suffix=suffix, digest=f"sha256:{state.hexdigest()}")


@dataclass(frozen=True)
class Blob:
    payload: Payload
    suffix: bytes
    digest: str

    @property
    def size(self) -> int:
        return self.payload.size + len(self.suffix)


def make_payload(path: Path, size: int) -> Payload:
    """Write `size` bytes of random data to `path` and hash them on the way."""
    block = os.urandom(min(RANDOM_BLOCK, size))
    state = hashlib.sha256()
    with path.open("wb") as out:
        remaining = size
        while remaining:
            piece = block[: min(len(block), remaining)]
            out.write(piece)
            state.update(piece)
            remaining -= len(piece)
    return Payload(path=path, size=size, state=state)


def small_blob(data: bytes) -> tuple[bytes, str]:
    """In-memory content (configs, tiny layers) with its digest."""
    return data, f"sha256:{hashlib.sha256(data).hexdigest()}"
