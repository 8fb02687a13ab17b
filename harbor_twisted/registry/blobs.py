"""Blob HEAD, GET (with Range) and DELETE."""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet import defer
from twisted.internet.interfaces import IPullProducer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.http import Request
from zope.interface import implementer

from harbor_twisted.common.names import Route
from harbor_twisted.db import registry_store
from harbor_twisted.registry import policies
from harbor_twisted.registry.audit import event_for
from harbor_twisted.registry.errors import RegistryError
from harbor_twisted.registry.ranges import parse_range
from harbor_twisted.registry.request import RegistryRequest
from harbor_twisted.registry.state import RegistryApp
from harbor_twisted.storage.base import BlobMissing, BlobReader
from harbor_twisted.storage.digests import Digest
from harbor_twisted.web.http import Response, header

READ_SIZE = 1024 * 1024
_log = Logger(namespace="harbor_twisted.registry.blobs")


@implementer(IPullProducer)
class BlobProducer:
    """Streams ``length`` bytes of an open blob in large reads, as the consumer drains.

    Each read runs in a disk thread (an object store's reader waits on the network), and
    its chunk is written when it arrives: the transport asks again once it has sent it.
    """

    def __init__(self, handle: BlobReader, length: int,
                 read_off_reactor: Callable[..., defer.Deferred[bytes]]) -> None:
        self.handle = handle
        self.remaining = length
        self.consumer: Request | None = None  # the request: a consumer that finishes
        self._read_off_reactor = read_off_reactor
        self._reading = False

    def start(self, consumer: Request) -> None:
        self.consumer = consumer
        consumer.registerProducer(self, False)

    def resumeProducing(self) -> None:  # noqa: N802 - twisted's name
        if self.consumer is None or self._reading:
            return
        if not self.remaining:
            self._deliver(b"")
            return
        self._reading = True
        reading = self._read_off_reactor(self.handle.read, min(READ_SIZE, self.remaining))
        reading.addCallbacks(self._deliver, self._failed)

    def _deliver(self, chunk: bytes) -> None:
        self._reading = False
        if self.consumer is None:  # stopped meanwhile
            self.handle.close()
            return
        if chunk:
            self.remaining -= len(chunk)
            self.consumer.write(chunk)
        if not chunk or self.remaining <= 0:
            consumer, self.consumer = self.consumer, None
            self.handle.close()
            consumer.unregisterProducer()
            consumer.finish()

    def _failed(self, failure: Failure) -> None:
        """The storage failed mid-body: the status is sent, so only cutting the connection
        tells the client the blob is incomplete."""
        self._reading = False
        _log.failure("reading a blob failed", failure)
        consumer, self.consumer = self.consumer, None
        self.handle.close()
        if consumer is not None:
            consumer.unregisterProducer()
            consumer.loseConnection()

    def stopProducing(self) -> None:  # noqa: N802 - twisted's name
        self.consumer = None
        if not self._reading:
            self.handle.close()


async def _stored_size(app: RegistryApp, route: Route, digest: Digest) -> int:
    size = await app.db.run(registry_store.repository_blob_size, route.name, str(digest))
    if size is None:
        raise RegistryError("BLOB_UNKNOWN", "blob unknown to registry", {"digest": str(digest)})
    return size


async def head_or_get_blob(
    app: RegistryApp, request: RegistryRequest, route: Route, digest: Digest
) -> Response:
    size = await _stored_size(app, route, digest)
    headers = {
        "Docker-Content-Digest": str(digest),
        "Content-Type": "application/octet-stream",
        "Accept-Ranges": "bytes",
        "ETag": f'"{digest}"',
        "Cache-Control": "max-age=31536000",
    }
    if request.method == b"HEAD":
        return Response(200, headers, content_length=size)
    byte_range = parse_range(header(request, "range"), size)
    redirect = app.blobs.redirect(digest)
    # Only a proxy acts on X-Accel-Redirect: a request that did not come through one (it
    # sets X-Forwarded-For) - the job service's replication reading this registry on
    # loopback - gets the bytes.
    if redirect is not None and redirect.internal and header(request, "x-forwarded-for"):
        headers["X-Accel-Redirect"] = redirect.location
        return Response(200, headers, content_length=0)
    if redirect is not None and not redirect.internal:
        headers["Location"] = redirect.location
        return Response(307, headers, content_length=0)
    start, end = byte_range if byte_range is not None else (0, size - 1)
    try:
        handle = await app.in_disk_thread(app.blobs.open_blob, digest, start)
    except BlobMissing:
        raise RegistryError(
            "BLOB_UNKNOWN", "blob content is missing from storage", {"digest": str(digest)}
        ) from None
    producer = BlobProducer(handle, end - start + 1, app.in_disk_thread)
    if byte_range is None:
        return Response(200, headers, producer=producer, content_length=size)
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(206, headers, producer=producer, content_length=end - start + 1)


async def delete_blob(
    app: RegistryApp, request: RegistryRequest, route: Route, digest: Digest
) -> Response:
    resource = f"{route.name}@{digest}"
    events = [
        event_for(app.config, request, request.username, "delete", "blob", route.name, resource)
    ]
    removed = await app.db.run(policies.unlink_blob, events, route.name, str(digest))
    if not removed:
        raise RegistryError("BLOB_UNKNOWN", "blob unknown to registry", {"digest": str(digest)})
    return Response(202, {"Docker-Content-Digest": str(digest)}, content_length=0)
