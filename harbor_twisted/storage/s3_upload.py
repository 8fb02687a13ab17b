"""An S3 upload's writer: request bodies spooled locally, stored as parts of the part size.

``write`` runs on the reactor: it only appends to a local spool file and hashes. When the
spool holds a part, a thread of the writer's own puts it to the bucket while a new spool
fills; with a part still in flight the body's sender is paused (``throttle``), so at most
two parts are ever on the local disk, never a whole blob. ``close`` (in a disk thread)
waits for the parts in flight and puts what the spool holds, so an acknowledged chunk is in
the bucket: if this host dies, another one lists the parts and goes on.

A spool smaller than the part size is stored as the last part; the next writer reads it back
into its spool and, once it has grown, stores it again under the same key (same offset), so
every part but the last is a whole part and the parts can be assembled by multipart copy.
"""

from __future__ import annotations

import errno
import os
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO

from harbor_twisted.storage.base import DigestMismatch, HeldLock, StoredBlob
from harbor_twisted.storage.digests import Digest, new_hasher
from harbor_twisted.storage.running_hash import RunningHash
from harbor_twisted.storage.s3_client import S3StorageError, storage_errors
from harbor_twisted.storage.s3_layout import Part
from harbor_twisted.storage.s3_parts import (
    S3Context,
    assemble,
    list_parts,
    read_part,
    remove_upload_objects,
)


class _HashSink:
    """A file-like that only hashes what is written to it."""

    def __init__(self, algorithm: str) -> None:
        self.hasher = new_hasher(algorithm)

    def write(self, data: bytes) -> int:
        self.hasher.update(data)
        return len(data)


class S3UploadWriter:
    def __init__(self, ctx: S3Context, upload_id: str, parts: list[Part], state: RunningHash,
                 lock: HeldLock) -> None:
        self._ctx = ctx
        self._upload_id = upload_id
        self._state = state
        self._lock: HeldLock | None = lock
        self._spool: IO[bytes] = self._new_spool()
        self._spool_start = sum(part.size for part in parts)
        self._spool_len = 0
        self._dirty = False  # the spool holds bytes the bucket has not
        self._appended = 0
        self._pending: deque[Future[None]] = deque()
        self._guard = threading.Lock()
        self._uploader: ThreadPoolExecutor | None = None
        self._error: BaseException | None = None
        self._pause: Callable[[], None] | None = None
        self._resume: Callable[[], None] | None = None
        self._paused = False
        if parts and parts[-1].size < ctx.part_size:  # a short last part: grow it
            try:
                read_part(ctx, upload_id, parts[-1], self._spool)
            except BaseException:
                self._spool.close()  # the caller releases the lock
                raise
            self._spool_start, self._spool_len = parts[-1].start, parts[-1].size
        ctx.uploads.writing.add(upload_id)

    def _new_spool(self) -> IO[bytes]:
        return tempfile.TemporaryFile(dir=self._ctx.spool_dir)  # kept open: the writer closes it

    @property
    def upload_id(self) -> str:
        return self._upload_id

    @property
    def size(self) -> int:
        return self._spool_start + self._spool_len

    @property
    def appended(self) -> int:
        return self._appended

    def throttle(self, pause: Callable[[], None], resume: Callable[[], None]) -> None:
        self._pause, self._resume = pause, resume

    def write(self, data: bytes) -> None:
        if self._error is not None:
            raise S3StorageError(errno.EIO, f"storing a part failed: {self._error}")
        view = memoryview(data)
        while view:
            piece = view[: self._ctx.part_size - self._spool_len]
            try:
                self._spool.write(piece)
            except OSError:
                self._state.hasher = None  # the hash no longer matches what is stored
                raise
            if self._state.hasher is not None:
                self._state.hasher.update(piece)
            self._state.hashed_bytes += len(piece)
            self._spool_len += len(piece)
            self._appended += len(piece)
            self._dirty = True
            view = view[len(piece):]
            if self._spool_len == self._ctx.part_size:
                self._seal()

    def _seal(self) -> None:
        """Hand the full spool to the uploader thread and start a new one."""
        spool, start, size = self._spool, self._spool_start, self._spool_len
        self._spool, self._spool_start, self._spool_len = self._new_spool(), start + size, 0
        self._dirty = False
        if self._uploader is None:
            self._uploader = ThreadPoolExecutor(1, thread_name_prefix="s3-part")
        with self._guard:
            in_flight = len(self._pending)
            if in_flight and self._pause is not None and not self._paused:
                self._paused = True
                self._pause()
            must_wait = in_flight >= 2 or (in_flight and not self._paused)
            oldest = self._pending[0] if must_wait else None
            future = self._uploader.submit(self._put_part, spool, start, size)
            self._pending.append(future)
        future.add_done_callback(self._part_done)
        if oldest is not None:  # no way to pause the sender: wait (never on the reactor)
            oldest.result()

    def _put_part(self, spool: IO[bytes], start: int, size: int) -> None:
        try:
            spool.seek(0)
            with storage_errors("storing an upload's part"):
                self._ctx.client.put_object(
                    Bucket=self._ctx.bucket, Key=self._ctx.layout.part(self._upload_id, start),
                    Body=spool, ContentLength=size,
                )
        finally:
            spool.close()

    def _part_done(self, future: Future[None]) -> None:
        with self._guard:
            if future in self._pending:
                self._pending.remove(future)
            if future.exception() is not None and self._error is None:
                self._error = future.exception()
                self._state.hasher = None
            resume = self._paused and not self._pending
            if resume:
                self._paused = False
        if resume and self._resume is not None:
            self._resume()

    def _flush(self) -> None:
        """Wait for the parts in flight, then store the spool as the (short) last part."""
        while True:
            with self._guard:
                oldest = self._pending[0] if self._pending else None
            if oldest is None:
                break
            oldest.exception()  # waits; _part_done records a failure
        if self._error is not None:
            raise S3StorageError(errno.EIO, f"storing a part failed: {self._error}")
        if self._dirty:
            self._spool.flush()
            self._spool.seek(0)
            with storage_errors("storing an upload's part"):
                self._ctx.client.put_object(
                    Bucket=self._ctx.bucket,
                    Key=self._ctx.layout.part(self._upload_id, self._spool_start),
                    Body=self._spool,
                    ContentLength=self._spool_len,
                )
            self._spool.seek(0, os.SEEK_END)
            self._dirty = False

    def close(self) -> None:
        """Store what was appended and let go (in a disk thread: it talks to S3)."""
        if self._lock is None:
            return
        try:
            self._flush()
        finally:
            self._let_go()

    def _stop_io(self) -> None:
        if self._uploader is not None:
            self._uploader.shutdown(wait=True)
            self._uploader = None
        self._spool.close()

    def _let_go(self) -> None:
        self._stop_io()
        if self._lock is not None:
            self._lock.release()  # the upload is free for the next writer, on any host
            self._lock = None
        self._ctx.uploads.writing.discard(self._upload_id)

    def digest(self, algorithm: str) -> Digest:
        """The running hash, else every part read back from the bucket and hashed."""
        self._flush()
        digest = self._state.current(self.size, algorithm)
        if digest is None:
            sink = _HashSink(algorithm)
            for part in list_parts(self._ctx, self._upload_id):
                read_part(self._ctx, self._upload_id, part, sink)
            digest = Digest(algorithm, sink.hasher.hexdigest())
        return digest

    def commit(self, expected: Digest) -> StoredBlob:
        """Verify, then copy the parts server-side to the blob's key (deduplicated). The
        parts stay until ``abort``, which the caller calls once the blob is recorded."""
        actual = self.digest(expected.algorithm)
        if actual != expected:
            raise DigestMismatch(expected, actual)
        size = self.size
        assemble(self._ctx, self._upload_id, expected)
        return StoredBlob(expected, size)

    def abort(self) -> None:
        """Remove the upload's objects, then let go: no writer (on any host) opens an upload
        half removed."""
        self._stop_io()
        try:
            remove_upload_objects(self._ctx, self._upload_id)
            self._ctx.uploads.forget(self._upload_id)
        finally:
            self._let_go()

