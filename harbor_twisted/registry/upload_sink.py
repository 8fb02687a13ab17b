"""Where request bodies go: straight into an upload, hashed on the way.

twisted.web normally spools a whole body (memory or a temp file) before the resource runs.
``RegistryRequest.gotLength`` (see request.py) swaps in one of these sinks instead, so a
layer is written once, to its final place, while it arrives; memory stays flat.

A sink must offer ``write``, ``tell``, ``seek``, ``read`` and ``close``: that is what
twisted.web calls on ``Request.content``.
"""

from __future__ import annotations

import contextlib
import errno
import io
from collections.abc import Callable
from typing import cast

from twisted.internet import defer, reactor
from twisted.internet.interfaces import IReactorFromThreads
from twisted.python.failure import Failure

from harbor_twisted.registry.errors import RegistryError
from harbor_twisted.storage.base import UploadWriter

_reactor = cast(IReactorFromThreads, reactor)


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


class UploadBody(BodySink):
    """A request body appended to its upload as it arrives.

    Opening the upload (finding it, checking its repository and size, taking its lock) is
    storage work, done in a thread once per request. Until it is open the connection is
    paused, and the bytes that came with the headers - one socket read at most - wait here.
    """

    def __init__(
        self,
        opening: defer.Deferred[UploadWriter],
        pause: Callable[[], None],
        resume: Callable[[], None],
        release: Callable[[UploadWriter], defer.Deferred[None] | None] | None = None,
    ) -> None:
        """``release``: closes a writer the handler will not get (a storage that talks to a
        network closes in a thread); by default, here."""
        self.writer: UploadWriter | None = None
        self._problem: Exception | None = None  # the opening's RegistryError, or an OSError
        self._early: list[bytes] = []
        self._handed_out = False  # the handler owns the writer now (and closes it)
        self._pause = pause
        self._resume = resume
        self._release = release or (lambda writer: writer.close())
        self._ready: defer.Deferred[None] = defer.Deferred()
        pause()
        opening.addCallbacks(self._opened, self._failed)

    def _opened(self, writer: UploadWriter) -> None:
        if self.closed:  # the client went away meanwhile
            self._release(writer)
        else:
            self.writer = writer
            # the driver may pause the sender while it stores a part, and resume it from
            # one of its threads
            writer.throttle(self._pause, lambda: _reactor.callFromThread(self._resume))
            early, self._early = self._early, []
            for data in early:
                self._append(data)
        self._resume()
        self._ready.callback(None)

    def _failed(self, failure: Failure) -> None:
        problem = failure.value
        self._problem = problem if isinstance(problem, Exception) else RuntimeError(problem)
        self._early = []
        self._resume()
        self._ready.callback(None)

    def write(self, data: bytes) -> None:
        self.received += len(data)
        if self._problem is not None:
            return
        if self.writer is None:
            self._early.append(data)
        else:
            self._append(data)

    def _append(self, data: bytes) -> None:
        assert self.writer is not None
        try:
            self.writer.write(data)  # rolls this request's bytes back on an error
        except OSError as exc:
            self._problem = exc

    async def stored(self) -> UploadWriter:
        """The writer, still open, once the whole body is in; raises what went wrong."""
        await self._ready
        if self._problem is not None:
            if self.writer is not None:
                # released before the answer: a client retrying at once finds it unlocked
                writer, self.writer = self.writer, None
                with contextlib.suppress(OSError):  # the write's own error is the one to tell
                    await defer.maybeDeferred(self._release, writer)
            raise self._problem if not isinstance(self._problem, OSError) else storage_error(
                self._problem
            )
        assert self.writer is not None
        self._handed_out = True
        return self.writer

    def close(self) -> None:
        """twisted.web's cleanup: lets the upload go (its bytes stay for the next chunk)."""
        self.closed = True
        if self.writer is not None and not self._handed_out:
            try:
                self._release(self.writer)
            except OSError as exc:
                self._problem = self._problem or exc


def close_writer(writer: UploadWriter) -> int:
    """Close a writer whose chunk is complete; the upload's size, or the storage error."""
    try:
        writer.close()
    except OSError as exc:
        raise storage_error(exc) from None
    return writer.size


def storage_error(problem: OSError) -> RegistryError:
    """A write the storage refused: 507 when it is full, else 500."""
    if problem.errno in (errno.ENOSPC, errno.EDQUOT):
        return RegistryError(
            "BLOB_UPLOAD_INVALID",
            "the registry is out of storage space; the chunk was not stored",
            status=507,
        )
    return RegistryError("BLOB_UPLOAD_INVALID", f"storing the chunk failed: {problem}", status=500)
