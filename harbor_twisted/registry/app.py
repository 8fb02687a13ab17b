"""The registry application: shared state and the resource that dispatches /v2/ requests."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from twisted.internet import defer, reactor
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool
from twisted.web.iweb import IRequest

from harbor_twisted.common.names import Route, is_valid_name, route_path
from harbor_twisted.config import Config
from harbor_twisted.db import registry_store
from harbor_twisted.db.engine import Database
from harbor_twisted.registry import blobs, listing, manifests, uploads
from harbor_twisted.registry.audit import PullRecorder
from harbor_twisted.registry.authz import RegistryAuthorizer
from harbor_twisted.registry.errors import RegistryError
from harbor_twisted.registry.upload_sink import UploadHashes
from harbor_twisted.storage.base import BlobStore
from harbor_twisted.storage.digests import InvalidDigest, parse_digest
from harbor_twisted.storage.filesystem import UPLOAD_ID
from harbor_twisted.web.http import API_VERSION_HEADER, Response, base_url
from harbor_twisted.web.resource import AsyncResource

T = TypeVar("T")
Handler = Callable[["RegistryApp", IRequest, Route], Awaitable[Response]]
log = Logger(namespace="harbor_twisted.registry")


class RegistryApp:
    """Everything a registry handler needs: configuration, database, blob store."""

    def __init__(
        self,
        config: Config,
        db: Database,
        blob_store: BlobStore,
        authorizer: RegistryAuthorizer | None = None,
    ) -> None:
        self.config = config
        self.authorizer = authorizer
        self.db = db
        self.blobs = blob_store
        self.upload_hashes = UploadHashes()
        self.finishing: set[str] = set()
        self.disk_pool = ThreadPool(minthreads=1, maxthreads=4, name="disk")
        self.pulls = PullRecorder(db)

    def start(self) -> None:
        self.blobs.prepare()
        self.disk_pool.start()
        self.pulls.start()

    async def stop(self) -> None:
        await self.pulls.stop()
        self.disk_pool.stop()

    def in_disk_thread(self, fn: Callable[..., T], *args: Any) -> defer.Deferred[T]:
        """Blocking disk work (hashing, fsync, rename) off the reactor thread."""
        return deferToThreadPool(reactor, self.disk_pool, fn, *args)

    def url(self, request: IRequest, path: str) -> str:
        return base_url(self.config, request) + path

    async def expire_uploads(self) -> list[str]:
        """Remove uploads untouched for longer than the configured expiry."""
        cutoff = datetime.now(UTC) - timedelta(seconds=self.config.upload_expiry_seconds)
        busy = self.upload_hashes.writing | self.finishing
        expired = await self.db.run(registry_store.expired_uploads, cutoff)
        expired = [upload_id for upload_id in expired if upload_id not in busy]
        for upload_id in expired:
            await self.db.run(registry_store.delete_upload, upload_id)
            self.upload_hashes.forget(upload_id)
        known = await self.db.run(registry_store.known_uploads)
        older_than = time.time() - self.config.upload_expiry_seconds
        removed = await self.in_disk_thread(
            self.blobs.expire_uploads, older_than, (known - set(expired)) | busy
        )
        return sorted(set(expired) | set(removed))


async def _base(app: RegistryApp, request: IRequest, route: Route) -> Response:
    return Response(200, {"Content-Type": "application/json"}, b"{}")


HANDLERS: dict[tuple[str, bytes], Handler] = {
    ("base", b"GET"): _base,
    ("base", b"HEAD"): _base,
    ("catalog", b"GET"): listing.catalog,
    ("upload_start", b"POST"): uploads.start_upload,
    ("upload", b"GET"): uploads.upload_status,
    ("upload", b"PATCH"): uploads.patch_upload,
    ("upload", b"PUT"): uploads.put_upload,
    ("upload", b"DELETE"): uploads.cancel_upload,
    ("manifest", b"GET"): manifests.get_manifest,
    ("manifest", b"HEAD"): manifests.get_manifest,
    ("manifest", b"PUT"): manifests.put_manifest,
    ("manifest", b"DELETE"): manifests.delete_manifest,
    ("tags", b"GET"): listing.list_tags,
    ("referrers", b"GET"): listing.referrers,
}


async def _blob(app: RegistryApp, request: IRequest, route: Route) -> Response:
    try:
        digest = parse_digest(route.argument)
    except InvalidDigest as exc:
        raise RegistryError("DIGEST_INVALID", str(exc), {"digest": route.argument[:160]}) from None
    if request.method == b"DELETE":
        return await blobs.delete_blob(app, request, route, digest)
    return await blobs.head_or_get_blob(app, request, route, digest)


for _method in (b"GET", b"HEAD", b"DELETE"):
    HANDLERS[("blob", _method)] = _blob


def _validate(route: Route) -> None:
    if route.kind in ("base", "catalog"):
        return
    if not is_valid_name(route.name):
        raise RegistryError("NAME_INVALID", "invalid repository name", {"name": route.name[:300]})
    if route.kind == "upload" and not UPLOAD_ID.match(route.argument):
        raise RegistryError(
            "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", {"uuid": route.argument[:64]}
        )


class RegistryResource(AsyncResource):
    """Routes on the raw path (see names.py) and answers every request itself."""

    surface = "registry"

    def __init__(self, app: RegistryApp) -> None:
        super().__init__()
        self.app = app

    async def handle(self, request: IRequest) -> Response:
        return await self._dispatch(request)

    def error_response(self, error: Exception) -> Response | None:
        if not isinstance(error, RegistryError):
            return None
        response = Response(error.status, dict(error.headers), error.body())
        response.headers["Content-Type"] = "application/json"
        return response

    def internal_error(self) -> Response:
        error = RegistryError("UNKNOWN", "internal error; the registry logged the details")
        return Response(500, {"Content-Type": "application/json"}, error.body())

    def finish_headers(self, request: IRequest, response: Response) -> None:
        request.setHeader(*API_VERSION_HEADER)

    async def _dispatch(self, request: IRequest) -> Response:
        body_error = getattr(request, "body_error", None)
        if body_error is not None:
            raise body_error
        route = getattr(request, "route", None) or route_path(request.path)
        if route is None:
            raise RegistryError("UNSUPPORTED", "no such registry endpoint", status=404)
        handler = HANDLERS.get((route.kind, request.method))
        if handler is None:
            raise RegistryError(
                "UNSUPPORTED",
                f"{request.method.decode('latin-1')[:16]} is not supported here",
                status=405,
            )
        _validate(route)
        if self.app.authorizer is not None and getattr(request, "grant", None) is None:
            request.grant = self.app.authorizer.authorize(request, route)
        return await handler(self.app, request, route)
