"""Serving a local blob file with sendfile(2): the kernel copies page cache to the socket.

Only on a plain TCP connection of HTTP/1.x (TLS encrypts in user space; HTTP/2 frames).
Each sendfile call runs in a disk thread, since a file not in the page cache blocks on the
disk, which the reactor must not. It works on a duplicate of the socket's descriptor, so a
connection closed meanwhile can never make it write to a reused descriptor number (the
shutdown that twisted does on close makes it fail with EPIPE instead). The socket is
non-blocking: a call returns when the socket buffer is full, and the reactor, watching the
duplicate, says when it has room again. One thread turn sends at most ``TURN_BYTES``, so a
fast client does not hold a disk thread for its whole download.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, BinaryIO, cast

from twisted.internet import defer, reactor, tcp
from twisted.internet.interfaces import IPushProducer, IReactorFDSet, IWriteDescriptor
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http
from zope.interface import implementer

TURN_BYTES = 8 * 1024 * 1024
_reactor = cast(IReactorFDSet, reactor)
_log = Logger(namespace="harbor_twisted.registry.sendfile")


def plain_tcp_transport(request: http.Request) -> tcp.Connection | None:
    """The request's TCP transport if sendfile may write to its socket directly, else None.

    twisted's own buffer (the status line and headers) must be empty first; it has no
    public way to ask, so the transport must have the attributes that hold it.
    """
    channel = request.channel
    transport = getattr(channel, "transport", None)
    if not isinstance(channel, http.HTTPChannel) or not isinstance(transport, tcp.Connection):
        return None
    if getattr(transport, "TLS", True):
        return None
    if not all(hasattr(transport, name) for name in ("dataBuffer", "offset", "_tempDataLen")):
        return None
    return transport


def _twisted_buffered(transport: Any) -> bool:
    return bool(transport._tempDataLen) or len(transport.dataBuffer) > transport.offset


@implementer(IPushProducer, IWriteDescriptor)
class SendfileProducer:
    """Sends ``length`` bytes of ``file`` from ``offset`` as a request's body.

    Also the reactor's write descriptor for the socket's duplicate, while it waits for room.
    """

    def __init__(self, file: BinaryIO, offset: int, length: int,
                 in_thread: Callable[..., defer.Deferred[int]]) -> None:
        self._file: BinaryIO | None = file
        self._offset = offset
        self._remaining = length
        self._in_thread = in_thread
        self._request: http.Request | None = None
        self._transport: tcp.Connection | None = None
        self._socket = -1  # our duplicate of the connection's descriptor
        self._sending = False  # a thread is in sendfile
        self._watching = False  # registered with the reactor, waiting for room
        self._paused = False
        self._planned = 0  # bytes the thread's current turn may send, counted already

    def start(self, request: http.Request, transport: tcp.Connection) -> None:
        self._request = request
        self._transport = transport
        self._socket = os.dup(transport.fileno())
        request.registerProducer(self, True)
        request.write(b"")  # the status line and headers, through twisted's buffer
        if not self._remaining:
            self._finish()
            return
        self._watch()

    # -- waiting for room in the socket (IWriteDescriptor) --------------------------------

    def _watch(self) -> None:
        if not self._watching and not self._sending and not self._paused:
            self._watching = True
            _reactor.addWriter(self)

    def _unwatch(self) -> None:
        if self._watching:
            self._watching = False
            _reactor.removeWriter(self)

    def fileno(self) -> int:
        return self._socket

    def doWrite(self) -> None:  # noqa: N802 - twisted's name
        if self._request is None:
            self._unwatch()
            return
        if _twisted_buffered(self._transport):
            return  # twisted sends its bytes (the headers) first; we are called again
        self._unwatch()
        self._sending = True
        # counted before the turn: a client that closes as soon as its last byte arrives
        # ends the request (and its metrics) before the thread's answer is back
        self._planned = min(self._remaining, TURN_BYTES)
        assert self._request is not None
        self._request.sentLength += self._planned
        sending = self._in_thread(self._send_some)
        sending.addCallbacks(self._sent, self._failed)

    def connectionLost(self, reason: Failure) -> None:  # noqa: N802 - twisted's name
        """The reactor found the duplicate unusable (it removed us already)."""
        self._watching = False
        self._failed(reason)

    def logPrefix(self) -> str:  # noqa: N802 - twisted's name
        return "sendfile"

    # -- the thread's turn -------------------------------------------------------------

    def _send_some(self) -> int:
        """In a disk thread: send until the socket is full, the turn or the body ends."""
        assert self._file is not None
        source = self._file.fileno()
        sent = 0
        while self._remaining and sent < TURN_BYTES:
            count = min(self._remaining, TURN_BYTES - sent)
            try:
                done = os.sendfile(self._socket, source, self._offset, count)
            except BlockingIOError:
                break
            if not done:
                raise EOFError(f"blob ended {self._remaining} bytes early")
            self._offset += done
            self._remaining -= done
            sent += done
        return sent

    def _sent(self, sent: int) -> None:
        self._sending = False
        if self._request is None:  # the client left meanwhile
            self._close()
            return
        self._request.sentLength -= self._planned - sent
        if not self._remaining:
            self._finish()
        else:
            self._watch()

    def _finish(self) -> None:
        request, self._request = self._request, None
        self._close()
        if request is not None:
            request.unregisterProducer()
            request.finish()

    def _failed(self, failure: Failure) -> None:
        """The body is cut short: the status is sent, so only closing the connection tells
        the client (a client that left is no failure worth a log)."""
        self._sending = False
        request, self._request = self._request, None
        self._close()
        if request is None:
            return
        if not failure.check(BrokenPipeError, ConnectionResetError):
            _log.failure("sending a blob failed", failure)
        request.unregisterProducer()
        request.loseConnection()

    def _close(self) -> None:
        self._unwatch()
        if self._sending:
            return  # the thread still uses them; its answer closes them
        if self._socket >= 0:
            os.close(self._socket)
            self._socket = -1
        if self._file is not None:
            self._file.close()
            self._file = None

    # -- IPushProducer -------------------------------------------------------------------

    def pauseProducing(self) -> None:  # noqa: N802 - twisted's name
        self._paused = True
        self._unwatch()

    def resumeProducing(self) -> None:  # noqa: N802 - twisted's name
        self._paused = False
        if self._request is not None:
            self._watch()

    def stopProducing(self) -> None:  # noqa: N802 - twisted's name
        self._request = None
        self._close()
