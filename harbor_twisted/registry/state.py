"""What every registry handler shares: configuration, database, blob store, disk threads.

Kept apart from the dispatch (resource.py) so handlers import the state they use and not
the table that routes to them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from twisted.internet import defer, reactor
from twisted.internet.interfaces import IReactorFromThreads
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool
from twisted.web.iweb import IRequest

from harbor_twisted.config import Config
from harbor_twisted.db import registry_store
from harbor_twisted.db.engine import Database
from harbor_twisted.registry.audit import PullRecorder
from harbor_twisted.registry.authz import RegistryAuthorizer
from harbor_twisted.storage.base import BlobStore
from harbor_twisted.web.http import base_url

T = TypeVar("T")
_reactor = cast(IReactorFromThreads, reactor)  # the global reactor runs thread pools


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
        return deferToThreadPool(_reactor, self.disk_pool, fn, *args)

    def url(self, request: IRequest, path: str) -> str:
        return base_url(self.config, request) + path

    async def expire_uploads(self) -> list[str]:
        """Remove uploads untouched for longer than the configured expiry."""
        cutoff = datetime.now(UTC) - timedelta(seconds=self.config.upload_expiry_seconds)
        busy = self.blobs.busy_uploads()
        expired = await self.db.run(registry_store.expired_uploads, cutoff)
        expired = [upload_id for upload_id in expired if upload_id not in busy]
        for upload_id in expired:
            await self.db.run(registry_store.delete_upload, upload_id)
        known = await self.db.run(registry_store.known_uploads)
        older_than = time.time() - self.config.upload_expiry_seconds
        removed = await self.in_disk_thread(
            self.blobs.expire_uploads, older_than, (known - set(expired)) | busy
        )
        return sorted(set(expired) | set(removed))

