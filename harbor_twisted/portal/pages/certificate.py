"""The registry's CA certificate: where to download it and how docker is told to trust it.
Public: a client needs it before it trusts the server, as Harbor offers it to anyone."""

from __future__ import annotations

from harbor_twisted.core.ca_certificate import read_ca_certificate
from harbor_twisted.portal.pages.context import Page, PageContext

DOWNLOAD = "/api/v2.0/systeminfo/getcert"


async def certificate(ctx: PageContext) -> Page:
    pem = await read_ca_certificate(ctx.services.config)
    return Page("certificate.html", {
        "has_ca": pem is not None, "download": DOWNLOAD,
        "pem": pem.decode("ascii", "replace") if pem is not None else "",
        "docker_dir": f"/etc/docker/certs.d/{ctx.registry_host}",
    }, title="Registry certificate")
