"""HTTP sessions for the service's outgoing calls (replication endpoints, webhook targets):
TLS verified against the system's CAs plus, when configured, the site's own CA file.

``requests`` takes one CA bundle in place of the system's, so a site CA given that way would
make public endpoints fail; instead an adapter hands urllib3 an SSL context holding both. The
file is read each time a session is made (a job, a ping), so a CA added later needs no
restart.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import requests
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter


class _OutboundAdapter(HTTPAdapter):
    """Holds the session's TLS policy: off stays off (plain requests lets REQUESTS_CA_BUNDLE
    or CURL_CA_BUNDLE in the environment turn a session's ``verify = False`` back on), and
    on trusts ``context`` (the system's CAs and the site's)."""

    def __init__(self, verify: bool, context: ssl.SSLContext | None) -> None:
        self._verify = verify
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self._context is not None:
            kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        if not self._verify:
            kwargs["verify"] = False
        return super().send(request, *args, **kwargs)


class TrustFileError(Exception):
    """``trusted_ca_file`` cannot be read or holds no usable certificate."""


def trust_context(trusted_ca_file: Path) -> ssl.SSLContext:
    """The system's CAs and those in ``trusted_ca_file`` (PEM, one or more certificates)."""
    context = ssl.create_default_context()
    try:
        context.load_verify_locations(cafile=str(trusted_ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise TrustFileError(f"trusted_ca_file: {trusted_ca_file} holds no usable PEM "
                             f"certificate ({exc})") from None
    return context


def outbound_session(verify: bool = True, trusted_ca_file: Path | None = None) -> requests.Session:
    """A session that verifies TLS (unless ``verify`` is off) and also trusts the CA file."""
    session = requests.Session()
    session.verify = verify
    context = trust_context(trusted_ca_file) if verify and trusted_ca_file else None
    session.mount("https://", _OutboundAdapter(verify, context))
    return session


def describe_tls_failure(error: BaseException) -> str | None:
    """A sentence for an unverified certificate, which otherwise reads as 'SSLError'."""
    if isinstance(error, TrustFileError):
        return str(error)
    if isinstance(error, requests.exceptions.SSLError):
        return ("TLS: the endpoint's certificate is not trusted (add its CA to the service's "
                "trusted_ca_file, or mark the endpoint insecure)")
    return None
