"""The address a request came from, seen through trusted proxies only."""

from __future__ import annotations

import ipaddress

from twisted.web.iweb import IRequest

from harbor_twisted.config import Config


def peer_address(request: IRequest) -> str:
    """The address of the connection's other end (a proxy's, when behind one)."""
    return getattr(request.getClientAddress(), "host", "") or ""


def from_trusted_proxy(config: Config, request: IRequest) -> bool:
    """Whether the peer is a trusted proxy, whose ``X-Forwarded-*`` headers count."""
    host = peer_address(request)
    return bool(host) and config.is_trusted_proxy(host)


def client_address(config: Config, request: IRequest) -> str:
    """The peer, or — when the peer is a trusted proxy — the nearest address in
    ``X-Forwarded-For`` that is not itself a trusted proxy.

    Taking the leftmost entry would let a client forge its address through a proxy that
    appends to the header.
    """
    host = peer_address(request)
    if not from_trusted_proxy(config, request):
        return host
    forwarded = request.getHeader("x-forwarded-for")
    if not forwarded:
        return host
    for hop in reversed(forwarded.split(",")):
        candidate = hop.strip()
        try:
            ipaddress.ip_address(candidate)
        except ValueError:
            return host  # a malformed chain is not trusted at all
        if not config.is_trusted_proxy(candidate):
            return candidate
    return host
