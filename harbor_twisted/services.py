"""Service trees for each process kind.

``all-in-one`` runs everything in one process. Split, the same parts run as three:
``core`` (token service, REST API, portal sessions), ``registry`` (the OCI API alone,
verifying the core's tokens) and ``jobservice`` (workers, scheduler, event consumer; no
port). They share the database and the data directory; each listens on its own ``port``
(``HT_PORT`` overrides the configuration file's per process).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from twisted.application import internet, service
from twisted.internet import defer, endpoints, reactor
from twisted.internet.interfaces import IProtocolFactory
from twisted.logger import Logger
from twisted.web import http, resource, server
from twisted.web.resource import IResource

from harbor_twisted.api.app import build_api
from harbor_twisted.auth import keys
from harbor_twisted.common.server_tls import server_options, with_tls
from harbor_twisted.config import Config
from harbor_twisted.core.identity import Authenticators, DatabaseAuthenticator, IdentityService
from harbor_twisted.core.ldap_login import LdapAuthenticator
from harbor_twisted.core.robots import RobotAuthenticator
from harbor_twisted.db import (
    migrate,
    replication_store,
    retention_store,
    settings_store,
    webhook_store,
)
from harbor_twisted.db.engine import Database, make_engine
from harbor_twisted.db.pool_stats import SAMPLE_SECONDS, record_pool_use
from harbor_twisted.gc.job import GC_JOB, GC_VENDOR, run_gc
from harbor_twisted.jobs.kinds import EventConsumerKind, JobKind, JobKinds
from harbor_twisted.jobs.sample import run_sample
from harbor_twisted.jobs.service import add_job_service
from harbor_twisted.portal.resource import PortalResource
from harbor_twisted.portal.services import PortalServices
from harbor_twisted.portal.session import SessionResource
from harbor_twisted.registry.authz import RegistryAuthorizer
from harbor_twisted.registry.request import request_factory
from harbor_twisted.registry.resource import RegistryResource
from harbor_twisted.registry.state import RegistryApp
from harbor_twisted.replication import events as replication_events
from harbor_twisted.replication import outcome as replication_outcome
from harbor_twisted.replication.job import run_replication
from harbor_twisted.retention import job as retention_job
from harbor_twisted.storage.drivers import open_blob_store
from harbor_twisted.tokens.service import TokenIssuer, TokenResource
from harbor_twisted.web.metering import METER_FLUSH_SECONDS, HttpMeter
from harbor_twisted.web.metrics_endpoint import metrics_site
from harbor_twisted.webhooks import dispatch as webhook_dispatch
from harbor_twisted.webhooks.delivery import run_webhook
from harbor_twisted.workers import (
    LISTEN_FD_ENV,
    METRICS_FD_ENV,
    adopted_port_service,
    runs_once_per_host,
    worker_header,
)

log = Logger(namespace="harbor_twisted.services")

READ_BUFFER_SIZE = 1024 * 1024


class OrderedMultiService(service.MultiService):
    """Stops children one at a time, last started first, waiting for each.

    Twisted's MultiService stops them all at once, which would stop the database thread
    pool while a request or a timer still waits for it.
    """

    async def _stop_in_order(self) -> None:
        for child in reversed(list(self)):
            if not child.running:
                continue  # after a failed start, later children never started
            try:
                await defer.maybeDeferred(child.stopService)
            except Exception:
                log.failure("stopping {child} failed", child=child)

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


class StartStopService(service.Service):
    """Calls ``start`` and ``stop`` callables: small parts without a service of their own."""

    def __init__(self, start: object = None, stop: object = None) -> None:
        self._start = start
        self._stop = stop

    def startService(self) -> None:  # noqa: N802 - twisted's name
        if callable(self._start):
            self._start()
        super().startService()

    def stopService(self) -> defer.Deferred[None] | None:  # noqa: N802 - twisted's name
        super().stopService()
        if not callable(self._stop):
            return None
        result = self._stop()
        if inspect.iscoroutine(result):
            return defer.ensureDeferred(result)
        return defer.maybeDeferred(lambda: result)


class RegistryChannel(http.HTTPChannel):
    """Closes at once on a TLS handshake, so clients that try HTTPS first fall back fast.

    The docker daemon tries TLS before plain HTTP even for insecure registries; twisted.web
    would wait for a request line that never comes until the client's 10 s timeout.
    """

    _first_data = True

    def connectionMade(self) -> None:  # noqa: N802 - twisted's name
        # Read up to 1 MiB per wake-up instead of 64 KiB: uploads spend their time in
        # per-read Python overhead, not in copying bytes.
        transport: Any = self.transport  # a TCP transport: these knobs are not in ITransport
        transport.bufferSize = READ_BUFFER_SIZE
        # and hand up to 1 MiB to each send(): downloads spent their time in reactor turns
        # of 128 KiB (twisted's default), not in copying bytes.
        transport.SEND_LIMIT = READ_BUFFER_SIZE
        super().connectionMade()

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - twisted's name
        if self._first_data:
            self._first_data = False
            if data[:1] == b"\x16":  # TLS record type: handshake
                transport: Any = self.transport
                transport.write(b"HTTP/1.0 400 Bad Request\r\n\r\nplain HTTP only\n")
                transport.loseConnection()
                return
        super().dataReceived(data)


class RegistrySite(server.Site):
    protocol = RegistryChannel  # type: ignore[assignment]  # twisted types it as a factory
    noisy = False
    worker: bytes | None = None  # of several worker processes, which one this is

    def __init__(
        self, root: resource.Resource, app: RegistryApp | None, access_log: bool,
        idle_timeout: int, meter: HttpMeter | None = None,
    ) -> None:
        super().__init__(root, timeout=idle_timeout,
                         requestFactory=request_factory(app, meter))
        self.access_log = access_log
        self.meter = meter

    def log(self, request: http.Request) -> None:
        """Access lines only at debug level: formatting them costs the hot path dearly."""
        if self.access_log:
            super().log(request)

    def getResourceFor(self, request: server.Request) -> IResource:  # noqa: N802 - twisted's
        if self.worker is not None:  # which of several workers answered (tests, debugging)
            request.setHeader(b"x-harbor-worker", self.worker)
        return super().getResourceFor(request)


def build_site(
    app: RegistryApp | None,
    token: resource.Resource | None = None,
    api: resource.Resource | None = None,
    portal: resource.Resource | None = None,
    config: Config | None = None,
    pages: resource.Resource | None = None,
) -> RegistrySite:
    """The HTTP tree: /v2 when ``app`` is given (else ``config`` names the settings)."""
    root = resource.Resource()
    if app is not None:
        _put(root, b"v2", RegistryResource(app))
        config = app.config
    assert config is not None
    if api is not None:
        _put(root, b"api", api)
    if portal is not None:
        _put(root, b"c", portal)  # /c/login, /c/log_out (portal sessions)
    if pages is not None:
        _put(root, b"", pages)  # / leads to the portal's pages under /harbor
        _put(root, b"harbor", pages)
    if token is not None:
        service_root = resource.Resource()
        _put(service_root, b"token", token)
        _put(root, b"service", service_root)
    site = RegistrySite(
        root, app, access_log=config.log_level == "debug",
        idle_timeout=config.idle_timeout_seconds,
        meter=HttpMeter() if config.metrics_enabled else None,
    )
    site.worker = worker_header()
    return site


def _put(parent: resource.Resource, name: bytes, child: resource.Resource) -> None:
    parent.putChild(name, cast(IResource, child))


async def _expire_uploads_once(app: RegistryApp) -> None:
    removed = await app.expire_uploads()
    if removed:
        log.info("removed {count} expired uploads", count=len(removed))


def _expire_uploads(app: RegistryApp) -> defer.Deferred[None]:
    d = defer.ensureDeferred(_expire_uploads_once(app))
    d.addErrback(lambda failure: log.failure("upload expiry failed", failure))
    return d


def _listen(config: Config, site: RegistrySite, parent: service.MultiService,
            kind: str = "registry") -> None:
    meter = site.meter
    if meter is not None:  # tallies go to the metrics each second, and once more at stop
        internet.TimerService(METER_FLUSH_SECONDS, meter.flush).setServiceParent(parent)
        StartStopService(stop=meter.flush).setServiceParent(parent)
    factory: IProtocolFactory = site
    if config.internal_tls_certificate_file and config.internal_tls_key_file:
        factory = with_tls(site, server_options(config.internal_tls_certificate_file,
                                                config.internal_tls_key_file))
    _serve(factory, parent, kind, config.listen_address, config.port, LISTEN_FD_ENV)
    _metrics(config, parent, None if meter is None else meter.flush)


def _serve(site: IProtocolFactory, parent: service.MultiService, kind: str, address: str,
           port: int, fd_env: str) -> None:
    """Listen on ``port`` (or the socket a parent passed in ``fd_env``) with ``site``, the
    web site or it behind TLS."""
    ipv6 = ":" in address
    # one of several workers: the socket the parent bound
    adopted = adopted_port_service(site, ipv6, fd_env, watch_parent=fd_env == LISTEN_FD_ENV)
    if adopted is not None:
        adopted.process_kind = kind  # type: ignore[attr-defined]
        adopted.setServiceParent(parent)
        return
    endpoint_class = endpoints.TCP6ServerEndpoint if ipv6 else endpoints.TCP4ServerEndpoint
    endpoint = endpoint_class(reactor, port, interface=address, backlog=1024)
    listening = internet.StreamServerEndpointService(endpoint, site)
    listening.process_kind = kind  # type: ignore[attr-defined]  # named in the start message
    listening.setServiceParent(parent)


def _metrics(config: Config, parent: service.MultiService,
             before_scrape: Callable[[], None] | None = None) -> None:
    """The metrics listener (its own port, as Harbor's) and the database pool's gauges."""
    if not config.metrics_enabled:
        return
    for child in parent:
        if isinstance(child, DatabaseService):
            internet.TimerService(SAMPLE_SECONDS, record_pool_use, "main", child.db
                                  ).setServiceParent(parent)
    _serve(metrics_site(config.metrics_path, before_scrape), parent, "metrics",
           config.effective_metrics_address, config.metrics_port, METRICS_FD_ENV)


def _verification_key(config: Config) -> rsa.RSAPublicKey:
    """The registry alone needs only the token signer's certificate."""
    path = config.token_signing_cert or config.effective_secrets_dir / keys.CERT_FILE
    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"token_signing_cert: cannot load {path}: {exc}") from None
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise RuntimeError(f"token_signing_cert: {path} does not hold an RSA key")
    return public_key


def _registry_parts(
    config: Config, top: service.MultiService, public_key: rsa.RSAPublicKey | None
) -> tuple[DatabaseService, RegistryApp]:
    database = DatabaseService(config)
    database.setServiceParent(top)
    authorizer = None
    if config.registry_auth == "token" and public_key is not None:
        authorizer = RegistryAuthorizer(config, public_key)
    app = RegistryApp(config, database.db, open_blob_store(config), authorizer)
    StartStopService(app.start, app.stop).setServiceParent(top)
    internet.TimerService(
        config.upload_sweep_interval_seconds, _expire_uploads, app
    ).setServiceParent(top)
    return database, app


class ReadOnlyWatch:
    """The read-only setting as the database holds it, for a registry without the core."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.value = False

    async def refresh(self) -> None:
        self.value = bool(await self.db.run(settings_store.get_setting, "read_only"))

    def __call__(self) -> bool:
        return self.value


def _logged(fn: Callable[[], Coroutine[Any, Any, object]], what: str
            ) -> defer.Deferred[object]:
    d: defer.Deferred[object] = defer.ensureDeferred(fn())
    d.addErrback(lambda failure: log.failure("{what} failed", failure, what=what))
    return d


def registry_service(config: Config) -> service.MultiService:
    """The registry alone: verifies tokens issued by a core it never calls, and Basic
    credentials with the core's identity service on the shared database."""
    top = OrderedMultiService()
    public_key = _verification_key(config) if config.registry_auth == "token" else None
    database, app = _registry_parts(config, top, public_key)
    if app.authorizer is not None:
        watch = ReadOnlyWatch(database.db)
        app.authorizer.read_only = watch
        internet.TimerService(
            config.settings_refresh_seconds, _logged, watch.refresh, "read-only check"
        ).setServiceParent(top)
        # Basic credentials on /v2/: the core's identity service, on the shared database
        # (its settings - auth mode, robot prefix, LDAP - re-read like the core's).
        identity = _identity(config, database)
        app.authorizer.identity = identity
        internet.TimerService(
            config.settings_refresh_seconds, _logged, identity.reload_settings, "settings reload"
        ).setServiceParent(top)
    _listen(config, build_site(app), top)
    top.registry_app = app  # type: ignore[attr-defined]  # handy for tests
    return top


def _core_parts(
    config: Config, top: service.MultiService, database: DatabaseService,
    signing_key: keys.SigningKey,
) -> tuple[IdentityService, TokenResource, resource.Resource, resource.Resource | None,
           resource.Resource | None]:
    """Identity, settings reload, token service, REST API, portal sessions and pages."""
    identity = _identity(config, database)
    StartStopService(identity.bootstrap_sync).setServiceParent(top)
    # Settings changed through the API apply at once here, within seconds in other processes;
    # the registry refuses writes the moment read-only mode is on, whatever the token says.
    internet.TimerService(
        config.settings_refresh_seconds, _logged, identity.reload_settings, "settings reload"
    ).setServiceParent(top)
    token = TokenResource(TokenIssuer(config, signing_key, identity))
    api = build_api(config, identity)
    portal = SessionResource(api.sessions, config) if api.sessions is not None else None
    pages = None
    if api.sessions is not None:
        pages = PortalResource(PortalServices.create(config, identity, api.sessions))
    return identity, token, api, portal, pages


def _identity(config: Config, database: DatabaseService) -> IdentityService:
    """The identity service with its authenticators: database users, robots, LDAP."""
    identity = IdentityService(database.db, config, config.allow_default_admin_password)
    identity.use_authenticators(Authenticators(
        database=DatabaseAuthenticator(database.db),
        robot=RobotAuthenticator(identity),
        ldap=LdapAuthenticator(identity),
    ))
    return identity


def job_kinds() -> JobKinds:
    """Every job kind and event consumer the job service runs (the queue knows none)."""
    return JobKinds(
        kinds=[
            JobKind(GC_JOB, run_gc, vendor=GC_VENDOR),
            JobKind("sample", run_sample, vendor="SAMPLE"),
            JobKind("replication", run_replication, vendor=replication_store.REPLICATION_VENDOR,
                    on_final=replication_outcome.announce),
            JobKind("retention", retention_job.run_retention, vendor=retention_store.VENDOR,
                    on_final=retention_job.announce),
            JobKind(webhook_store.JOB_NAME, run_webhook),
        ],
        consumers=[
            EventConsumerKind("replication", lambda conn, config, events: len(
                replication_events.enqueue(conn, events, config.job_retry_limit))),
            EventConsumerKind("webhook", lambda conn, config, events: len(
                webhook_dispatch.enqueue(conn, config, events))),
        ],
    )


def _signing_key(config: Config) -> keys.SigningKey:
    return keys.load_or_create(
        config.effective_secrets_dir,
        key_path=config.token_signing_key,
        cert_path=config.token_signing_cert,
    )


def all_in_one_service(config: Config) -> service.MultiService:
    """Registry, token service, REST API, portal sessions and job service in one process."""
    top = OrderedMultiService()
    signing_key = _signing_key(config)
    database, app = _registry_parts(config, top, signing_key.public_key)
    identity, token, api, portal, pages = _core_parts(config, top, database, signing_key)
    if app.authorizer is not None:
        app.authorizer.read_only = lambda: identity.read_only
        app.authorizer.identity = identity  # Basic credentials on /v2/, as Harbor accepts
    if runs_once_per_host():  # of several workers, the first alone runs jobs
        add_job_service(config, top, job_kinds())
    _listen(config, build_site(app, token, api, portal, pages=pages), top)
    top.registry_app = app  # type: ignore[attr-defined]  # handy for tests
    return top


def core_service(config: Config) -> service.MultiService:
    """Token service, REST API (/api) and portal sessions (/c): no /v2, no job workers.

    Jobs the API starts (garbage collection, replication) are rows in the database that a
    ``jobservice`` process runs.
    """
    top = OrderedMultiService()
    signing_key = _signing_key(config)
    database = DatabaseService(config)
    database.setServiceParent(top)
    _identity, token, api, portal, pages = _core_parts(config, top, database, signing_key)
    _listen(config, build_site(None, token, api, portal, config=config, pages=pages), top,
            kind="core")
    return top


def jobservice_service(config: Config) -> service.MultiService:
    """Job workers and the scheduler alone (no port): GC, later replication and more."""
    top = OrderedMultiService()
    DatabaseService(config).setServiceParent(top)  # migrates the schema when allowed
    add_job_service(config, top, job_kinds())
    _metrics(config, top)  # its only port
    return top
