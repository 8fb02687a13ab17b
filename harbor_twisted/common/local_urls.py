"""This installation's own registry URL, as the job service and the payloads name it."""

from __future__ import annotations

from harbor_twisted.config import Config

bound_port: int | None = None  # set when this process's listening port is known


def local_url(config: Config) -> str:
    if config.registry_url:  # a separate registry process (the job service's setting)
        return config.registry_url.rstrip("/")
    if config.external_url:
        return config.external_url.rstrip("/")
    host = config.listen_address
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if config.internal_tls_certificate_file else "http"
    return f"{scheme}://{host}:{bound_port or config.port}"
