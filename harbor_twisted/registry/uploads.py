"""Blob uploads: start, mount, monolithic, chunks, completion, status and cancel.

The bytes of PATCH/PUT/POST bodies were already written to the upload's file by the time a
handler here runs (see request.py); handlers only validate, finalise and record.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from harbor_twisted.common.names import Route, is_valid_name
from harbor_twisted.db import quota_store, registry_store
from harbor_twisted.registry.authz import Needed
from harbor_twisted.registry.errors import RegistryError
from harbor_twisted.registry.quota_events import quota_refused
from harbor_twisted.registry.request import RegistryRequest
from harbor_twisted.registry.state import RegistryApp
from harbor_twisted.registry.upload_sink import UploadBody, close_writer, storage_error
from harbor_twisted.storage.base import (
    DigestLock,
    DigestMismatch,
    StoredBlob,
    UploadBusy,
    UploadMissing,
    UploadWriter,
)
from harbor_twisted.storage.digests import DEFAULT_ALGORITHM, Digest, InvalidDigest, parse_digest
from harbor_twisted.web.http import Response, query_value


def _upload_headers(
    app: RegistryApp, request: RegistryRequest, route: Route, upload_id: str, size: int
) -> dict[str, str]:
    return {
        "Location": app.url(request, f"/v2/{route.name}/blobs/uploads/{upload_id}"),
        "Range": f"0-{max(size - 1, 0)}",
        "Docker-Upload-UUID": upload_id,
    }


def _blob_created(
    app: RegistryApp, request: RegistryRequest, route: Route, digest: Digest
) -> Response:
    headers = {
        "Location": app.url(request, f"/v2/{route.name}/blobs/{digest}"),
        "Docker-Content-Digest": str(digest),
    }
    return Response(201, headers, content_length=0)


def _required_digest(text: str | None) -> Digest:
    if not text:
        raise RegistryError("DIGEST_INVALID", "the digest query parameter is required")
    try:
        return parse_digest(text)
    except InvalidDigest as exc:
        raise RegistryError("DIGEST_INVALID", str(exc), {"digest": text[:160]}) from None


def _unknown_upload(upload_id: str) -> RegistryError:
    return RegistryError(
        "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", {"uuid": upload_id[:64]}
    )


async def start_upload(app: RegistryApp, request: RegistryRequest, route: Route) -> Response:
    mount = query_value(request, "mount")
    if mount is not None:
        mounted = await _try_mount(app, request, route, mount, query_value(request, "from"))
        if mounted is not None:
            return mounted
    elif request.new_upload_id is not None:  # monolithic POST ?digest=, body already stored
        try:
            digest = _required_digest(query_value(request, "digest"))
            writer = await _body_writer(request)
            assert writer is not None
            return await _finish(app, request, route, writer, digest)
        except RegistryError:
            await _discard(app, request.new_upload_id)
            raise
    upload_id = str(uuid.uuid4())
    await app.in_disk_thread(app.blobs.create_upload, upload_id, route.name)
    await app.db.run(registry_store.create_upload, upload_id, route.name)
    return Response(202, _upload_headers(app, request, route, upload_id, 0), content_length=0)


async def _try_mount(
    app: RegistryApp, request: RegistryRequest, route: Route, mount: str, source: str | None
) -> Response | None:
    digest = _required_digest(mount)
    if not source or not is_valid_name(source):
        return None  # no usable source: fall back to a regular upload
    grant = request.grant
    if app.authorizer is not None and (
        grant is None or not grant.allows(Needed("repository", source, ("pull",)))
    ):
        return None  # no right to read the source: upload instead, reveal nothing
    try:
        size = await app.db.run(_mount_blob, source, route.name, str(digest))
    except quota_store.QuotaExceeded as exc:
        await quota_refused(app, request, route.name, str(digest), None, exc)
        raise quota_denied(exc) from None
    except IntegrityError:
        return None  # garbage collection removed the blob meanwhile: upload it instead
    if size is None:
        return None
    return _blob_created(app, request, route, digest)


async def _discard(app: RegistryApp, upload_id: str) -> None:
    await app.in_disk_thread(app.blobs.remove_upload, upload_id)  # may unlink gigabytes
    await app.db.run(registry_store.delete_upload, upload_id)


async def _body_writer(request: RegistryRequest) -> UploadWriter | None:
    """The upload the body went to, still open; None if the body went to none."""
    if not isinstance(request.body, UploadBody):
        return None
    return await request.body.stored()


async def patch_upload(app: RegistryApp, request: RegistryRequest, route: Route) -> Response:
    writer = await _body_writer(request)
    if writer is not None:  # stores what the driver still holds: off the reactor
        size = await app.in_disk_thread(close_writer, writer)
    else:
        size = await _current_size(app, route)
    await app.db.run(registry_store.touch_upload, route.argument)
    return Response(
        202, _upload_headers(app, request, route, route.argument, size), content_length=0
    )


async def _current_size(app: RegistryApp, route: Route) -> int:
    try:
        return await app.in_disk_thread(app.blobs.upload_size, route.argument, route.name)
    except UploadMissing:
        raise _unknown_upload(route.argument) from None


def _open_upload(app: RegistryApp, route: Route, algorithm: str) -> UploadWriter:
    try:
        return app.blobs.open_upload(route.argument, route.name, algorithm)
    except UploadMissing:
        raise _unknown_upload(route.argument) from None
    except UploadBusy:
        raise RegistryError(
            "BLOB_UPLOAD_INVALID", "this upload is already being completed", status=409
        ) from None


async def put_upload(app: RegistryApp, request: RegistryRequest, route: Route) -> Response:
    writer = await _body_writer(request)
    if writer is None:  # a PUT that only closes the upload: open it now, once
        algorithm = _algorithm_of(query_value(request, "digest"))
        writer = await app.in_disk_thread(_open_upload, app, route, algorithm)
    try:
        digest = _required_digest(query_value(request, "digest"))
    except RegistryError:
        await app.in_disk_thread(writer.close)  # stores a part, lets a lock go: not here
        raise
    return await _finish(app, request, route, writer, digest)


def _algorithm_of(text: str | None) -> str:
    try:
        return parse_digest(text).algorithm if text else DEFAULT_ALGORITHM
    except InvalidDigest:
        return DEFAULT_ALGORITHM  # refused right after, by _required_digest


async def _finish(
    app: RegistryApp, request: RegistryRequest, route: Route, writer: UploadWriter,
    expected: Digest,
) -> Response:
    """Verify and store the upload under its digest, then record the blob; closes ``writer``.

    The writer holds the upload's lock throughout, so no other request appends or completes
    it meanwhile, in this process or another.
    """
    upload_id = writer.upload_id
    try:
        actual = await app.in_disk_thread(writer.digest, expected.algorithm)
        if actual != expected:
            raise DigestMismatch(expected, actual)
        # Held from the rename (or dedup) to the committed row: GC re-checks the row under
        # the same lock before deleting a file, so this blob cannot lose its file meanwhile.
        lock, stored = await app.in_disk_thread(_lock_and_commit, app, writer, expected)
        try:
            await app.db.run(_record_blob, route.name, str(stored.digest), stored.size, upload_id)
        finally:
            lock.release()
        await app.in_disk_thread(writer.abort)  # recorded: the upload's files can go
    except (UploadMissing, FileNotFoundError):
        raise _unknown_upload(upload_id) from None  # cancelled meanwhile
    except OSError as exc:
        raise storage_error(exc) from None
    except quota_store.QuotaExceeded as exc:
        # The file went into the blob store unlinked (GC sweeps it); the upload is over.
        await app.in_disk_thread(writer.abort)
        await app.db.run(registry_store.delete_upload, upload_id)
        await quota_refused(app, request, route.name, str(expected), None, exc)
        raise quota_denied(exc) from None
    except DigestMismatch as exc:
        raise RegistryError(
            "DIGEST_INVALID",
            "provided digest did not match uploaded content",
            {"expected": str(exc.expected), "actual": str(exc.actual)},
        ) from None
    finally:  # a driver may still store a part here: off the reactor
        await app.in_disk_thread(writer.close)
    return _blob_created(app, request, route, expected)


def _lock_and_commit(app: RegistryApp, writer: UploadWriter, expected: Digest
                     ) -> tuple[DigestLock, StoredBlob]:
    """Both in one disk thread: a holder that waited for another thread to commit could
    wait forever while the other threads all wait for its lock (same-blob pushes)."""
    lock = app.blobs.lock_digest(expected)
    try:
        return lock, writer.commit(expected)
    except BaseException:
        lock.release()
        raise


def quota_denied(exc: quota_store.QuotaExceeded) -> RegistryError:
    return RegistryError("DENIED", str(exc), {"project": exc.project_name, "adding": exc.adding,
                                              "used": exc.used, "hard": exc.hard})


def _mount_blob(conn: Connection, source: str, target: str, digest: str) -> int | None:
    size = registry_store.mount_blob(conn, source, target, digest)
    if size is not None:
        quota_store.charge(conn, target, {digest: size})
    return size


def _record_blob(
    conn: Connection, repository: str, digest: str, size: int, upload_id: str
) -> None:
    registry_store.link_blob(conn, repository, digest, size)
    quota_store.charge(conn, repository, {digest: size})
    registry_store.delete_upload(conn, upload_id)


async def upload_status(app: RegistryApp, request: RegistryRequest, route: Route) -> Response:
    size = await _current_size(app, route)
    return Response(
        204, _upload_headers(app, request, route, route.argument, size), content_length=0
    )


async def cancel_upload(app: RegistryApp, request: RegistryRequest, route: Route) -> Response:
    await _current_size(app, route)  # the upload exists, in this repository
    await _discard(app, route.argument)
    return Response(204, content_length=0)
