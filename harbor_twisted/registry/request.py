"""A twisted.web Request that decides where a body goes before its first byte arrives.

``gotLength`` runs once the headers are parsed and before any body byte: method and raw
path are still on the channel (``_command``/``_path``). Here the route is matched and
validated and the token checked, once per request (Basic credentials are checked by the
identity service off the reactor; an upload's opening waits for that check). Upload
PATCH/PUT bodies and monolithic POSTs go straight into the upload (found from the UUID in
the path and opened in a disk thread while reading pauses: once per request, off the
reactor); manifest bodies go to a capped buffer; bodies of requests that take none are
discarded. Problems found here are remembered in ``body_error`` and answered once the body
has been read.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, cast
from urllib.parse import parse_qs

from twisted.internet import defer
from twisted.internet.interfaces import IPushProducer
from twisted.logger import Logger
from twisted.web import http

from harbor_twisted.common.names import Route, is_valid_name, route_path
from harbor_twisted.registry.authz import Grant
from harbor_twisted.registry.errors import RegistryError
from harbor_twisted.registry.ranges import parse_content_range
from harbor_twisted.registry.state import RegistryApp
from harbor_twisted.registry.upload_sink import BodySink, CappedBuffer, DiscardSink, UploadBody
from harbor_twisted.storage.base import UPLOAD_ID, UploadBusy, UploadMissing, UploadWriter
from harbor_twisted.storage.digests import DEFAULT_ALGORITHM, InvalidDigest, parse_digest
from harbor_twisted.web.metering import HttpMeter, MeteredRequest

BODY_METHODS = (b"PUT", b"PATCH", b"POST")
# Docker Distribution's route names: the ``handler`` label of the registry_http_* metrics
HANDLER_NAMES = {"base": "base", "catalog": "catalog", "upload_start": "blob-upload",
                 "upload": "blob-upload-chunk", "blob": "blob", "manifest": "manifest",
                 "tags": "tags", "referrers": "referrers"}
_log = Logger(namespace="harbor_twisted.registry.request")


class RegistryRequest(MeteredRequest):
    """A request with what the registry learns about it, typed, as its headers arrive."""

    def __init__(self, channel: http.HTTPChannel, *args: Any, app: RegistryApp | None,
                 meter: HttpMeter | None = None) -> None:
        super().__init__(channel, *args, meter=meter)
        self.app = app
        self.route: Route | None = None  # None: not a registry path (or not one we serve)
        self.route_error: RegistryError | None = None  # the route's name or upload id is bad
        self.body_error: RegistryError | None = None  # answered once the body was read
        self.grant: Grant | None = None  # the verified token's grant, once authorised
        self.body: BodySink = DiscardSink()  # where the body went (also ``self.content``)
        self.new_upload_id: str | None = None  # a monolithic POST's upload
        self.raw_query = b""  # the query string as it came, for the mount's challenge
        # Basic credentials being checked (fires None once done; it never fails) and the
        # check's error, raised before anything else is answered.
        self.authorizing: defer.Deferred[None] | None = None
        self.auth_error: Exception | None = None

    @property
    def username(self) -> str:
        """Who the audit log names: the token's subject, else anonymous."""
        if self.grant is not None and self.grant.subject:
            return self.grant.subject
        return "anonymous"

    def gotLength(self, length: int | None) -> None:  # noqa: N802 - twisted's name
        channel = self.channel
        method: bytes = channel._command
        raw_path, _, query = channel._path.partition(b"?")
        route = route_path(raw_path) if raw_path.startswith(b"/v2") else None
        if self.app is None:
            self.begin_metering(None, method, raw_path)
        else:  # every /v2 request is the registry's, matched or not
            handler = HANDLER_NAMES[route.kind] if route is not None else "other"
            self.begin_metering(handler if raw_path.startswith(b"/v2") else None, method,
                                raw_path)
        if self.app is None or route is None:
            super().gotLength(length)
            return
        self.route = route
        self.route_error = _route_error(route)
        self.raw_query = query
        try:
            if method in BODY_METHODS:
                self._check_token(self.app, method, route, query)
            if self.route_error is None:
                self.body = self._choose_sink(self.app, method, route, query, length)
        except RegistryError as error:
            self.body_error = error
            self.body = DiscardSink()
        self.content = self.body

    def _check_token(self, app: RegistryApp, method: bytes, route: Route, query: bytes) -> None:
        """Check the token before accepting a body (verification is CPU-only and cached);
        Basic credentials start their check here, in the identity service's threads."""
        if app.authorizer is None or not _name_is_valid(route):
            return
        self.method = method  # twisted sets it later; the authorizer reads it now
        credentials = app.authorizer.basic_credentials(self)
        if credentials is None:
            self.grant = app.authorizer.authorize(self, route, query)
            return
        checking = app.authorizer.authorize_basic(self, route, query, credentials)
        self.authorizing = defer.ensureDeferred(self._remember_grant(checking))

    async def _remember_grant(self, checking: Coroutine[Any, Any, Grant]) -> None:
        try:
            self.grant = await checking
        except Exception as error:  # answered by the dispatch, never lost
            self.auth_error = error

    def _once_authorized(
        self, open_upload: Callable[..., defer.Deferred[UploadWriter]], *args: Any
    ) -> defer.Deferred[UploadWriter]:
        """Open the upload only after a pending Basic check allowed the request."""
        if self.authorizing is None:
            return open_upload(*args)
        authorizing = self.authorizing

        async def when_allowed() -> UploadWriter:
            await authorizing
            if self.auth_error is not None:
                raise self.auth_error
            return await open_upload(*args)

        return defer.ensureDeferred(when_allowed())

    def _choose_sink(
        self, app: RegistryApp, method: bytes, route: Route, query: bytes, length: int | None
    ) -> BodySink:
        if route.kind == "manifest" and method == b"PUT":
            limit = app.config.manifest_max_bytes
            if length is not None and length > limit:
                raise _too_large(limit)
            return CappedBuffer(limit)
        if route.kind == "upload" and method in (b"PATCH", b"PUT"):
            return self._append_sink(app, route, method, query, length)
        if route.kind == "upload_start" and method == b"POST":
            digest = _query_value(query, "digest")
            if digest is not None and not _query_value(query, "mount"):
                return self._monolithic_sink(app, route, digest)
        return DiscardSink()

    def _append_sink(
        self, app: RegistryApp, route: Route, method: bytes, query: bytes, length: int | None
    ) -> BodySink:
        content_range = self.getHeader("content-range")
        if content_range is None and method == b"PUT" and not length:
            return DiscardSink()  # a PUT that only closes the upload
        digest_text = _query_value(query, "digest") if method == b"PUT" else None
        opening = self._once_authorized(
            app.in_disk_thread, _open_for_append, app, route, digest_text, content_range, length
        )
        return self._upload_body(app, opening)

    def _monolithic_sink(self, app: RegistryApp, route: Route, digest_text: str) -> BodySink:
        upload_id = str(uuid.uuid4())
        self.new_upload_id = upload_id
        opening = self._once_authorized(
            app.in_disk_thread, _create_and_open, app, route.name, upload_id, digest_text
        )
        return self._upload_body(app, opening)

    def _upload_body(self, app: RegistryApp, opening: defer.Deferred[UploadWriter]) -> UploadBody:
        """Reading pauses until the upload is open (off the reactor, once per request)."""
        transport = cast(IPushProducer, self.channel.transport)  # a TCP or TLS transport
        return UploadBody(opening, transport.pauseProducing, transport.resumeProducing,
                          functools.partial(_release_in_thread, app))


def _open_for_append(
    app: RegistryApp, route: Route, digest_text: str | None, content_range: str | None,
    length: int | None,
) -> UploadWriter:
    """In a disk thread: the upload's writer, its size checked against Content-Range.

    The errors keep their order: unknown upload, bad range, then a bad digest.
    """
    algorithm, digest_error = DEFAULT_ALGORITHM, None
    try:
        algorithm = _digest_algorithm(digest_text)
    except RegistryError as error:
        digest_error = error
    writer = _open(app, route.argument, route.name, algorithm)
    try:
        if content_range is not None:
            _check_range(route, writer.size, content_range, length)
        if digest_error is not None:
            raise digest_error
    except BaseException:
        writer.close()
        raise
    return writer


def _release_in_thread(app: RegistryApp, writer: UploadWriter) -> defer.Deferred[None]:
    """Close a writer nobody answers for, off the reactor (it may store a part); a failure
    only loses bytes no response acknowledged. Fires once the upload is free again."""
    closing = app.in_disk_thread(writer.close)
    closing.addErrback(lambda failure: _log.failure("closing an abandoned upload", failure))
    return closing


def _create_and_open(
    app: RegistryApp, repository: str, upload_id: str, digest_text: str
) -> UploadWriter:
    """In a disk thread: a new upload for a monolithic POST, and its writer."""
    algorithm = _digest_algorithm(digest_text)
    app.blobs.create_upload(upload_id, repository)
    return _open(app, upload_id, repository, algorithm)


def _open(app: RegistryApp, upload_id: str, repository: str, algorithm: str) -> UploadWriter:
    try:
        return app.blobs.open_upload(upload_id, repository, algorithm)
    except UploadMissing:
        raise RegistryError("BLOB_UPLOAD_UNKNOWN", "upload unknown to registry") from None
    except UploadBusy:
        raise RegistryError(
            "BLOB_UPLOAD_INVALID", "another request is writing to this upload", status=409
        ) from None


def _check_range(route: Route, size: int, content_range: str, length: int | None) -> None:
    try:
        start, end = parse_content_range(content_range, size)
    except RegistryError as error:
        error.headers.update(_range_headers(route, size))
        raise
    if length is not None and length != end - start + 1:
        raise RegistryError(
            "BLOB_UPLOAD_INVALID",
            "Content-Length does not match Content-Range",
            status=416,
            headers=_range_headers(route, size),
        )


def request_factory(app: RegistryApp | None, meter: HttpMeter | None = None
                    ) -> Callable[..., RegistryRequest]:
    """What the site builds its requests with: each one knows the registry it goes to,
    and the meter it reports to (None: metrics are off)."""
    return functools.partial(RegistryRequest, app=app, meter=meter)


def _name_is_valid(route: Route) -> bool:
    return route.kind in ("base", "catalog") or is_valid_name(route.name)


def _route_error(route: Route) -> RegistryError | None:
    """Validated once per request: the repository name, and an upload's id."""
    if not _name_is_valid(route):
        return RegistryError("NAME_INVALID", "invalid repository name", {"name": route.name[:300]})
    if route.kind == "upload" and not UPLOAD_ID.match(route.argument):
        return RegistryError(
            "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", {"uuid": route.argument[:64]}
        )
    return None


def _query_value(query: bytes, key: str) -> str | None:
    try:
        values = parse_qs(query.decode("ascii"), keep_blank_values=True).get(key)
    except (UnicodeDecodeError, ValueError):
        return None
    return values[0] if values else None


def _digest_algorithm(text: str | None) -> str:
    if not text:
        return DEFAULT_ALGORITHM
    try:
        return parse_digest(text).algorithm
    except InvalidDigest as exc:
        raise RegistryError("DIGEST_INVALID", str(exc)) from None


def _range_headers(route: Route, size: int) -> dict[str, str]:
    return {
        "Location": f"/v2/{route.name}/blobs/uploads/{route.argument}",
        "Range": f"0-{max(size - 1, 0)}",
        "Docker-Upload-UUID": route.argument,
    }


def _too_large(limit: int) -> RegistryError:
    return RegistryError(
        "SIZE_INVALID", f"manifest exceeds the {limit} byte limit", {"limit": limit}, status=413
    )
