"""``/health``, ``/ping``, ``/systeminfo`` and ``/systeminfo/getcert``."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from twisted.internet import threads
from twisted.logger import Logger
from twisted.python.failure import Failure

from harbor_twisted import __version__
from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.common.outbound_tls import trust_context
from harbor_twisted.core.ca_certificate import read_ca_certificate
from harbor_twisted.db import settings_store
from harbor_twisted.web.errors import ApiError
from harbor_twisted.web.http import request_base_url

log = Logger(namespace="harbor_twisted.api.system")

# The Harbor API these endpoints follow; clients read harbor_version to pick features.
HARBOR_API_VERSION = "2.11.0"
HARBOR_VERSION = f"v{HARBOR_API_VERSION}-harbor-twisted-{__version__}"


def register(router: Router, services: Services) -> None:
    router.add("/health", GET=lambda call: health(services, call))
    router.add("/ping", GET=ping)
    router.add("/systeminfo", GET=lambda call: systeminfo(services, call))
    router.add("/systeminfo/getcert", GET=lambda call: get_cert(services, call))


async def ping(call: Call) -> Reply:
    return Reply(text="Pong")


async def _component(name: str, check: Any) -> dict[str, str]:
    """A component's status; details of a failure go to the log, not to anonymous callers."""
    try:
        await check()
    except Exception:
        log.failure("health check of {name} failed", Failure(), name=name)
        return {"name": name, "status": "unhealthy", "error": f"the {name} check failed"}
    return {"name": name, "status": "healthy"}


async def health(services: Services, call: Call) -> Reply:
    data = services.config.data

    async def database() -> None:
        await services.identity.db.run(settings_store.ping)

    async def storage() -> None:
        writable = await threads.deferToThread(os.access, data, os.W_OK | os.X_OK)
        if not writable:
            raise OSError(f"the data directory {data} is not writable")  # logged only

    async def alive() -> None:
        return None

    async def registry() -> None:
        """A separate registry process (``registry_url``) must answer /v2/ itself."""
        url = services.config.registry_url
        if not url:
            return  # served by this very process
        status = await threads.deferToThread(_status_of, url.rstrip("/") + "/v2/",
                                             services.config.trusted_ca_file)
        if status not in (200, 401):
            raise OSError(f"the registry at {url} answered {status}")  # logged only

    components = [
        await _component("core", alive),
        await _component("database", database),
        await _component("registry", registry),
        await _component("storage", storage),
    ]
    healthy = all(c["status"] == "healthy" for c in components)
    return Reply(body={"status": "healthy" if healthy else "unhealthy",
                       "components": components})


def _status_of(url: str, trusted_ca_file: Path | None = None) -> int:
    """The HTTP status of a GET (blocking; in a thread), 0 when nothing answered; HTTPS is
    verified against the system's CAs and ``trusted_ca_file`` (internal TLS)."""
    context = trust_context(trusted_ca_file) if trusted_ca_file else None
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),  # no proxy variables
                                         urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (OSError, ValueError):
        return 0


def _external_url(services: Services, call: Call) -> str:
    """As the registry computes its token realm: configured, a trusted proxy's view, Host."""
    return request_base_url(services.config, call.request)


async def systeminfo(services: Services, call: Call) -> Reply:
    """``GeneralInfo``; anonymous callers get the parts a login page needs."""
    settings = services.identity.settings
    info: dict[str, Any] = {
        "auth_mode": settings.get("auth_mode", "db_auth"),
        "primary_auth_mode": False,
        "self_registration": bool(settings.get("self_registration")),
        "harbor_version": HARBOR_VERSION,
        "banner_message": "",
    }
    if not call.principal.anonymous:
        external = _external_url(services, call)
        info.update({
            "external_url": external,
            "registry_url": urlsplit(external).netloc,
            "project_creation_restriction": settings.get(
                "project_creation_restriction", "everyone"),
            "read_only": bool(settings.get("read_only")),
            "has_ca_root": await read_ca_certificate(services.config) is not None,
            "with_notary": False,
            "with_chartmuseum": False,
            "notification_enable": False,
            "registry_storage_provider_name": "filesystem",
        })
    return Reply(body=info)


async def get_cert(services: Services, call: Call) -> Reply:
    """The CA that signed the registry's certificate, as Harbor offers it: a ``ca.crt``
    download for anyone (clients fetch it before they trust the server), 404 when none."""
    pem = await read_ca_certificate(services.config)
    if pem is None:
        raise ApiError(404, "this registry has no CA certificate to offer")
    return Reply(data=pem, headers={
        "Content-Type": "application/octet-stream",
        "Content-Disposition": 'attachment; filename="ca.crt"'})
