"""The blob store protocol: what the registry, the API and GC need from a storage driver.

A driver keeps two kinds of objects: finished blobs, immutable and named by their digest,
and uploads in progress, named by an upload id. Every method may block (disk or network):
callers run them off the reactor, except ``UploadWriter.write``, which receives a request
body as it arrives. No path, file or URL of the driver's own leaks out; a blob is reached
through a reader, a writer or, optionally, a redirect to where a proxy (nginx's X-Accel,
an object store's pre-signed URL) serves it.

The filesystem driver (filesystem.py) and the S3 driver (s3.py) implement it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from harbor_twisted.storage.digests import DEFAULT_ALGORITHM, Digest

# Upload ids are version 4 UUIDs in their canonical form: safe in any driver's namespace.
UPLOAD_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class UploadMissing(LookupError):
    """No upload with that id exists (or it belongs to another repository)."""


class UploadBusy(RuntimeError):
    """Another request (in this process or another) is appending to this upload."""


class BlobMissing(FileNotFoundError):
    """No blob is stored under that digest."""


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


@dataclass(frozen=True)
class Redirect:
    """Where a blob's bytes are served from instead of this process.

    ``internal``: a location only the proxy in front resolves (nginx's X-Accel-Redirect);
    otherwise a URL the client follows itself (an object store's pre-signed URL).
    """

    location: str
    internal: bool


class LockTimeout(TimeoutError):
    """A digest's lock stayed taken for longer than the driver waits (another host holds it)."""


class DigestLock(Protocol):
    """Held while a digest's blob is committed or deleted; released once, by either way."""

    def release(self) -> None: ...
    def __enter__(self) -> DigestLock: ...
    def __exit__(self, *_exc: object) -> None: ...


class HeldLock(Protocol):
    """An exclusive lock taken without waiting; ``release`` lets it go (once is enough)."""

    def release(self) -> None: ...


class StorageLocks(Protocol):
    """The exclusions of a driver whose objects several processes (or hosts) share.

    Host-local flocks (local_locks.py) when one host uses the store; PostgreSQL advisory
    locks (advisory_locks.py) when several hosts share a bucket and a PostgreSQL database.
    """

    def lock_digest(self, digest: Digest) -> DigestLock:
        """Block (bounded: LockTimeout) until the digest's lock is ours. Its ``release``
        never waits on the network, so it may be called on the reactor."""

    def try_lock_upload(self, upload_id: str) -> HeldLock | None:
        """The upload's writer lock, or None at once if anyone holds it."""

    def forget_upload(self, upload_id: str) -> None:
        """The upload is gone: drop what its lock left behind (a lock file)."""


class BlobReader(Protocol):
    """A stored blob's bytes from an offset on: ``read`` returns b"" at the end.

    A reader of a local file (the filesystem driver's) also has ``fileno``: the registry
    then lets the kernel send the file (sendfile) from that offset.
    """

    def read(self, size: int = -1, /) -> bytes: ...
    def close(self) -> None: ...
    def __enter__(self) -> BlobReader: ...
    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None, /) -> None: ...


class UploadWriter(Protocol):
    """One request's hold on an upload: appends, hashes on the way, commits or aborts.

    Only one writer per upload at a time, across processes (``UploadBusy`` otherwise).
    What was appended is durable once the writer is closed, and a later writer (in any
    process) resumes after it. The running hash survives between writers of one process;
    another process re-hashes the stored bytes at commit (hash states cannot be saved).
    So a driver must be able to find, from the upload id alone, every part appended so far
    and read them back in order: the filesystem keeps one growing file; an object store
    keeps one part per append, listed by the upload's prefix.
    """

    @property
    def upload_id(self) -> str: ...
    @property
    def size(self) -> int:
        """Bytes the upload holds, this writer's appends included."""
    @property
    def appended(self) -> int:
        """Bytes this writer appended."""

    def write(self, data: bytes) -> None:
        """Append and hash. On an error nothing of this writer's stays stored; it raises."""

    def throttle(self, pause: Callable[[], None], resume: Callable[[], None]) -> None:
        """Let the driver pause the body's sender while it stores what it holds (an object
        store uploading a part); ``resume`` may be called from any thread."""

    def close(self) -> None:
        """Flush and let go: the upload stays, for another writer to resume."""

    def digest(self, algorithm: str) -> Digest:
        """Of every byte stored: the running hash, else the stored parts re-hashed."""

    def commit(self, expected: Digest) -> StoredBlob:
        """Verify the digest and store the bytes under it (deduplicated). The upload stays,
        held by this writer, until ``abort``: the caller ends it once the blob is recorded,
        so a crash in between leaves an upload a repeated PUT completes.

        Raises DigestMismatch (the upload stays). Call it holding ``lock_digest(expected)``,
        after ``digest`` (a re-hash should not hold the lock).
        """

    def abort(self) -> None:
        """Remove the upload and everything it holds."""


class BlobStore(Protocol):
    def prepare(self) -> None:
        """Create what the driver needs (directories, buckets); idempotent."""

    # -- uploads --------------------------------------------------------------------------

    def create_upload(self, upload_id: str, repository: str) -> None: ...

    def open_upload(
        self, upload_id: str, repository: str, algorithm: str = DEFAULT_ALGORITHM
    ) -> UploadWriter:
        """A writer on an existing upload of ``repository``, from any process.

        Raises UploadMissing (no such upload in that repository) or UploadBusy.
        """

    def upload_size(self, upload_id: str, repository: str) -> int:
        """Bytes stored so far; raises UploadMissing."""

    def remove_upload(self, upload_id: str) -> None: ...

    def busy_uploads(self) -> set[str]:
        """Uploads a writer of this process holds (another process's are its own affair)."""

    def expire_uploads(self, older_than: float, keep: set[str]) -> list[str]:
        """Remove uploads untouched since ``older_than`` (Unix time) but those in ``keep``
        and those a writer holds; their ids."""

    # -- finished blobs -------------------------------------------------------------------

    def blob_size(self, digest: Digest) -> int | None:
        """The stored blob's size, None if there is none."""

    def open_blob(self, digest: Digest, offset: int = 0) -> BlobReader:
        """Read a blob from ``offset`` on; raises BlobMissing."""

    def redirect(self, digest: Digest) -> Redirect | None:
        """Where a proxy or the client can fetch the blob directly, if the driver offers it."""

    def delete_blob(self, digest: Digest) -> bool: ...

    def list_blobs(self) -> Iterator[tuple[Digest, float]]:
        """Every stored blob with its last modification time (for garbage collection)."""

    def lock_digest(self, digest: Digest) -> DigestLock:
        """An exclusive lock on one digest, across threads and processes.

        GC deletes a blob only after re-checking, under it, that no row names the digest;
        an upload holds it from its commit until its row is committed.
        """
