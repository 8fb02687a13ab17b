"""The address a request came from, seen through trusted proxies only."""

from __future__ import annotations

import ipaddress

from twisted.web.iweb import IRequest

from harbor_twisted.config import Config


def client_address(config: Config, request: IRequest) -> str:
    """The peer, or — when the peer is a trusted proxy — the nearest address in
    ``X-Forwarded-For`` that is not itself a trusted proxy.

    Taking the leftmost entry would let a client forge its address through a proxy that
    appends to the header.
    """
    host = getattr(request.getClientAddress(), "host", "") or ""
    if not host or not config.is_trusted_proxy(host):
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
