"""Where the S3 driver keeps things in its bucket, below the configured prefix::

    <prefix>/blobs/<algorithm>/<first two hex>/<hex>   finished blobs, immutable
    <prefix>/uploads/<uuid>/repository                 the repository the upload belongs to
    <prefix>/uploads/<uuid>/parts/<offset, 16 hex>     the bytes received, one object a part

An upload's parts are contiguous; every part but the last holds exactly the part size, so
any host can list them, read them back in order and assemble them by multipart copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from harbor_twisted.storage.digests import Digest


@dataclass(frozen=True)
class Part:
    start: int
    size: int


@dataclass(frozen=True)
class S3Layout:
    prefix: str  # without slashes at either end; "" for the bucket's root

    @property
    def root(self) -> str:
        return f"{self.prefix}/" if self.prefix else ""

    @property
    def blobs(self) -> str:
        return f"{self.root}blobs/"

    @property
    def uploads(self) -> str:
        return f"{self.root}uploads/"

    def blob(self, digest: Digest) -> str:
        return f"{self.blobs}{digest.algorithm}/{digest.hex[:2]}/{digest.hex}"

    def digest_of(self, key: str) -> Digest | None:
        """The digest a blob key names, None for a key that is not a blob's."""
        pieces = key.removeprefix(self.blobs).split("/")
        if not key.startswith(self.blobs) or len(pieces) != 3 or pieces[1] != pieces[2][:2]:
            return None
        return Digest(pieces[0], pieces[2])

    def upload(self, upload_id: str) -> str:
        return f"{self.uploads}{upload_id}/"

    def owner(self, upload_id: str) -> str:
        return f"{self.upload(upload_id)}repository"

    def parts(self, upload_id: str) -> str:
        return f"{self.upload(upload_id)}parts/"

    def part(self, upload_id: str, start: int) -> str:
        return f"{self.parts(upload_id)}{start:016x}"

    def part_start(self, upload_id: str, key: str) -> int | None:
        text = key.removeprefix(self.parts(upload_id))
        try:
            return int(text, 16) if len(text) == 16 else None
        except ValueError:
            return None

    def upload_id_of(self, key: str) -> str | None:
        """The upload a key under uploads/ belongs to."""
        if not key.startswith(self.uploads):
            return None
        return key.removeprefix(self.uploads).split("/", 1)[0] or None
