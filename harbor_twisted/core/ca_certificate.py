"""The registry's CA certificate (``ca_certificate_file``), offered to docker clients that
must trust the registry's TLS certificate. Read from disk in a thread, never on the reactor."""

from __future__ import annotations

from pathlib import Path

from twisted.internet import threads

from harbor_twisted.config import Config

MAX_PEM = 1024 * 1024  # a CA bundle is a few kilobytes; anything larger is not one


def _read(path: Path) -> bytes | None:
    try:
        with path.open("rb") as pem:
            data = pem.read(MAX_PEM + 1)
    except OSError:
        return None
    if not data or len(data) > MAX_PEM or b"-----BEGIN CERTIFICATE-----" not in data:
        return None
    return data


async def read_ca_certificate(config: Config) -> bytes | None:
    """The PEM, or None when none is configured or the file is missing or not a certificate."""
    if config.ca_certificate_file is None:
        return None
    found: bytes | None = await threads.deferToThread(_read, config.ca_certificate_file)
    return found
