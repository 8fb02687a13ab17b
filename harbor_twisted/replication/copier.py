"""Copies one artifact between two registries: manifests (indexes with their children,
referrers) and only the blobs the destination lacks — HEAD, then a cross-repository mount
from where this run already put the blob, then a streamed upload in bounded chunks whose
digest is checked on the way. Each blob is retried a few times before the artifact fails.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from harbor_twisted.replication.client import RegistryClient, RegistryClientError, throttled

CHUNK = 16 * 1024 * 1024
READ = 1024 * 1024
BLOB_ATTEMPTS = 3


class DigestMismatch(Exception):
    """What arrived is not what the descriptor names."""


def _check_body(body: bytes, digest: str) -> None:
    algorithm, _, hexdigest = digest.partition(":")
    if algorithm in ("sha256", "sha512") and hashlib.new(algorithm, body).hexdigest() != hexdigest:
        raise DigestMismatch(f"manifest body does not match {digest}")


class Copier:
    def __init__(self, src: RegistryClient, dst: RegistryClient, speed_kb: int,
                 log: Callable[[str], None], check_stop: Callable[[], None]) -> None:
        self.src = src
        self.dst = dst
        self.speed_kb = speed_kb
        self.log = log
        self.check_stop = check_stop
        self.placed: dict[str, str] = {}  # digest -> a destination repository that has it
        self.bytes_copied = 0

    # -- artifacts ----------------------------------------------------------------------

    def copy(self, src_repo: str, reference: str, dst_repo: str, override: bool) -> str:
        """Copy ``src_repo:reference`` to ``dst_repo`` under the same tag; what happened."""
        got = self.src.get_manifest(src_repo, reference)
        if got is None:
            raise RegistryClientError(f"{src_repo}:{reference} not found at the source", 404)
        body, media_type, digest = got
        digest = digest or "sha256:" + hashlib.sha256(body).hexdigest()
        _check_body(body, digest)
        existing = self.dst.manifest_digest(dst_repo, reference)
        if existing == digest:
            self.log(f"{dst_repo}:{reference} already at {digest}")
            return "skipped"
        if existing is not None and not override:
            self.log(f"{dst_repo}:{reference} exists ({existing}) and override is off")
            return "skipped"
        self._content(src_repo, dst_repo, body)
        stored = self.dst.put_manifest(dst_repo, reference, body, media_type)
        if stored and stored != digest:
            raise DigestMismatch(f"destination stored {stored}, expected {digest}")
        self._referrers(src_repo, dst_repo, digest)
        self.log(f"copied {src_repo}:{reference} -> {dst_repo}:{reference} ({digest})")
        return "copied"

    def delete(self, dst_repo: str, reference: str) -> str:
        deleted = self.dst.delete_manifest(dst_repo, reference)
        self.log(f"{'deleted' if deleted else 'nothing to delete at'} {dst_repo}:{reference}")
        return "deleted" if deleted else "absent"

    def _manifest_by_digest(self, src_repo: str, dst_repo: str, digest: str) -> None:
        if self.dst.manifest_digest(dst_repo, digest) == digest:
            return
        got = self.src.get_manifest(src_repo, digest)
        if got is None:
            raise RegistryClientError(f"{src_repo}@{digest} not found at the source", 404)
        body, media_type, _ = got
        _check_body(body, digest)
        self._content(src_repo, dst_repo, body)
        self.dst.put_manifest(dst_repo, digest, body, media_type)

    def _content(self, src_repo: str, dst_repo: str, body: bytes) -> None:
        document: dict[str, Any] = json.loads(body)
        for child in document.get("manifests") or []:
            self.check_stop()
            self._manifest_by_digest(src_repo, dst_repo, child["digest"])
        descriptors = [document.get("config"), *list(document.get("layers") or [])]
        descriptors += list(document.get("blobs") or [])
        for descriptor in descriptors:
            if not descriptor or descriptor.get("urls"):
                continue  # foreign layers stay where they are
            self.check_stop()
            self.blob(src_repo, dst_repo, descriptor["digest"])

    def _referrers(self, src_repo: str, dst_repo: str, digest: str) -> None:
        for referrer in self.src.referrers(src_repo, digest):
            self.check_stop()
            self._manifest_by_digest(src_repo, dst_repo, referrer["digest"])

    # -- blobs --------------------------------------------------------------------------

    def blob(self, src_repo: str, dst_repo: str, digest: str) -> None:
        for attempt in range(1, BLOB_ATTEMPTS + 1):
            try:
                self._blob_once(src_repo, dst_repo, digest)
                self.placed[digest] = dst_repo
                return
            except (requests.RequestException, RegistryClientError, DigestMismatch) as error:
                if attempt == BLOB_ATTEMPTS:
                    raise
                self.log(f"blob {digest}: attempt {attempt} failed ({error}); retrying")
                time.sleep(min(2 ** attempt, 10))
                self.check_stop()

    def _blob_once(self, src_repo: str, dst_repo: str, digest: str) -> None:
        if self.dst.has_blob(dst_repo, digest):
            return
        location = None
        source = self.placed.get(digest)
        if source is not None and source != dst_repo:
            location = self.dst.mount_blob(dst_repo, digest, source)
            if location is None:
                self.log(f"mounted {digest} from {source}")
                return
        location = location or self.dst.start_upload(dst_repo)
        response = self.src.open_blob(src_repo, digest)
        try:
            algorithm, _, expected = digest.partition(":")
            hasher = hashlib.new(algorithm)
            chunks = self._chunks(response, hasher)
            self.dst.upload_chunks(dst_repo, location, chunks, digest)
        finally:
            response.close()
        if hasher.hexdigest() != expected:
            raise DigestMismatch(f"blob {digest} arrived with digest {hasher.hexdigest()}")

    def _chunks(self, response: requests.Response, hasher: Any) -> Iterator[bytes]:
        """Bounded chunks of the streamed body, hashed and throttled as they pass."""
        buffer = bytearray()
        for piece in throttled(response.iter_content(READ), self.speed_kb):
            hasher.update(piece)
            buffer += piece
            self.bytes_copied += len(piece)
            if len(buffer) >= CHUNK:
                self.check_stop()
                yield bytes(buffer)
                buffer.clear()
        if buffer:
            yield bytes(buffer)
