"""Small HTTP helpers every surface shares: the answer (body or producer), headers, URLs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twisted.web.iweb import IRequest

from harbor_twisted.config import Config

API_VERSION_HEADER = (b"Docker-Distribution-API-Version", b"registry/2.0")


@dataclass
class Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    producer: Any = None  # streams the body instead of ``body`` (blob downloads)
    content_length: int | None = None  # when the body is produced or omitted (HEAD)


def header(request: IRequest, name: str) -> str | None:
    value = request.getHeader(name)
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


def query_value(request: IRequest, name: str) -> str | None:
    values = request.args.get(name.encode())
    if not values:
        return None
    try:
        return values[0].decode("utf-8")
    except UnicodeDecodeError:
        return None


def base_url(config: Config, request: IRequest) -> str:
    """The URL prefix clients should use: the external URL, else the trusted proxy's view.

    Without either, locations stay relative, which every client resolves correctly.
    """
    if config.external_url:
        return config.external_url
    peer = request.getClientAddress()
    if getattr(peer, "host", None) and config.is_trusted_proxy(peer.host):
        proto = header(request, "x-forwarded-proto")
        host = header(request, "x-forwarded-host")
        if proto and host:
            proto = proto.split(",")[0].strip()
            host = host.split(",")[0].strip()
            if proto in ("http", "https") and host and "/" not in host:
                return f"{proto}://{host}"
    return ""


def request_base_url(config: Config, request: IRequest) -> str:
    """Always absolute (the token realm must be): as ``base_url``, else from ``Host``."""
    configured = base_url(config, request)
    if configured:
        return configured
    scheme = "https" if request.isSecure() else "http"
    host = header(request, "host") or ""
    if not host or any(c in host for c in '/"\\ ,'):
        address = request.getHost()
        host = f"{address.host}:{address.port}"
    return f"{scheme}://{host}"
