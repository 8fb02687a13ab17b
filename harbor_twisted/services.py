"""Service trees for each process kind (``all-in-one``, ``registry``)."""

from __future__ import annotations

from twisted.application import internet, service
from twisted.internet import defer, endpoints, reactor
from twisted.logger import Logger
from twisted.web import resource, server

from harbor_twisted.config import Config
from harbor_twisted.db import migrate
from harbor_twisted.db.engine import Database, make_engine
from harbor_twisted.registry.app import RegistryApp, RegistryResource
from harbor_twisted.registry.request import RegistryRequest
from harbor_twisted.storage.filesystem import FilesystemBlobStore

log = Logger(namespace="harbor_twisted.services")


class OrderedMultiService(service.MultiService):
    """Stops children one at a time, last started first, waiting for each.

    Twisted's MultiService stops them all at once, which would stop the database thread
    pool while a request or a timer still waits for it.
    """

    async def _stop_in_order(self) -> None:
        for child in reversed(list(self)):
            await defer.maybeDeferred(child.stopService)

    def stopService(self) -> defer.Deferred[None]:  # noqa: N802 - twisted's name
        service.Service.stopService(self)
        return defer.ensureDeferred(self._stop_in_order())


class DatabaseService(service.Service):
    """Owns the engine and its thread pool; migrates the schema at start when allowed."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.db = Database(
            make_engine(config.effective_database_url, config.db_threads), config.db_threads
        )

    def startService(self) -> None:  # noqa: N802 - twisted's name
        if self.config.auto_migrate:
            revision = migrate.upgrade(self.db.engine)
            log.info("database schema at revision {revision}", revision=revision)
        self.db.start()
        super().startService()

    def stopService(self) -> defer.Deferred[None] | None:  # noqa: N802 - twisted's name
        self.db.stop()
        return super().stopService()


class RegistryAppService(service.Service):
    def __init__(self, app: RegistryApp) -> None:
        self.app = app

    def startService(self) -> None:  # noqa: N802 - twisted's name
        self.app.start()
        super().startService()

    def stopService(self) -> defer.Deferred[None] | None:  # noqa: N802 - twisted's name
        self.app.stop()
        return super().stopService()


class RegistrySite(server.Site):
    requestFactory = RegistryRequest  # noqa: N815 - twisted's name

    noisy = False

    def __init__(self, root: resource.Resource, app: RegistryApp, access_log: bool) -> None:
        super().__init__(root)
        self.registry_app = app
        self.access_log = access_log

    def log(self, request: server.Request) -> None:
        """Access lines only at debug level: formatting them costs the hot path dearly."""
        if self.access_log:
            super().log(request)


def build_site(app: RegistryApp) -> RegistrySite:
    root = resource.Resource()
    root.putChild(b"v2", RegistryResource(app))
    return RegistrySite(root, app, access_log=app.config.log_level == "debug")


def _expire_uploads(app: RegistryApp) -> defer.Deferred[object]:
    d = defer.ensureDeferred(app.expire_uploads())
    d.addCallback(
        lambda removed: removed and log.info("removed {count} expired uploads", count=len(removed))
    )
    d.addErrback(lambda failure: log.failure("upload expiry failed", failure))
    return d


def registry_service(config: Config) -> service.MultiService:
    """The registry alone; ``all-in-one`` adds the other parts as they are built."""
    top = OrderedMultiService()
    database = DatabaseService(config)
    database.setServiceParent(top)
    app = RegistryApp(config, database.db, FilesystemBlobStore(config.data))
    RegistryAppService(app).setServiceParent(top)
    internet.TimerService(
        config.upload_sweep_interval_seconds, _expire_uploads, app
    ).setServiceParent(top)
    endpoint = endpoints.TCP4ServerEndpoint(
        reactor, config.port, interface=config.listen_address, backlog=1024
    )
    if ":" in config.listen_address:
        endpoint = endpoints.TCP6ServerEndpoint(
            reactor, config.port, interface=config.listen_address, backlog=1024
        )
    site = build_site(app)
    internet.StreamServerEndpointService(endpoint, site).setServiceParent(top)
    top.registry_app = app  # type: ignore[attr-defined] - handy for tests
    return top


def all_in_one_service(config: Config) -> service.MultiService:
    return registry_service(config)
