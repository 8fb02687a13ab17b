"""One conversation with the directory: connect (ldap://, ldaps://, StartTLS), bind, search.

Blocking by nature (python-ldap), so only ever called in a thread. Every step is bounded:
``OPT_NETWORK_TIMEOUT`` for the TCP connect, ``OPT_TIMEOUT`` and python-ldap's ``timeout``
for each operation's answer, so an unreachable or silent directory fails within
``ldap_timeout`` instead of hanging a request. libldap has no timeout for the TLS handshake
of ldaps:// (a server that accepts and stays silent would hold the thread for ever), so
that handshake is first tried from Python with the timeout. Failures become two exceptions whose
messages are safe to show an administrator (never a password).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import ldap

from harbor_twisted.ldap.settings import LdapSettings

# Errors meaning "could not talk to the directory", as opposed to "it said no".
_UNREACHABLE = (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR, ldap.UNAVAILABLE,
                ldap.BUSY, ldap.TIMELIMIT_EXCEEDED)


class DirectoryUnavailable(Exception):
    """The directory could not be reached or did not answer in time."""


class DirectoryError(Exception):
    """The directory answered with an error (bad search account, base DN, filter…)."""


@dataclass(frozen=True)
class Entry:
    dn: str
    attributes: dict[str, list[str]]  # attribute names in lower case

    def values(self, name: str) -> list[str]:
        return self.attributes.get(name.lower(), [])

    def first(self, name: str) -> str | None:
        found = self.values(name)
        return found[0] if found else None


def describe(error: ldap.LDAPError) -> str:
    """python-ldap's description of an error (its ``desc`` and ``info``)."""
    detail: Any = error.args[0] if error.args else {}
    if not isinstance(detail, dict):
        return str(detail) or type(error).__name__
    text = str(detail.get("desc") or type(error).__name__)
    info = detail.get("info")
    return f"{text} ({info})" if info else text


def _decode(values: list[bytes]) -> list[str]:
    return [value.decode("utf-8", "replace") for value in values]


class Connection:
    """A connected, not yet bound, LDAP session (use :func:`connect`)."""

    def __init__(self, raw: ldap.ldapobject.LDAPObject, settings: LdapSettings) -> None:
        self.raw = raw
        self.settings = settings

    def _failure(self, error: ldap.LDAPError, doing: str) -> Exception:
        url = self.settings.url
        if isinstance(error, ldap.TIMEOUT):
            return DirectoryUnavailable(
                f"{url} did not answer {doing} within {self.settings.timeout} s")
        if isinstance(error, _UNREACHABLE):
            hint = " - or TLS failed: check ldap_ca_file and ldap_verify_cert" \
                if self.settings.uses_tls and isinstance(error, ldap.SERVER_DOWN) else ""
            return DirectoryUnavailable(
                f"cannot reach {url} ({doing}): {describe(error)}{hint}")
        return DirectoryError(f"{url} refused {doing}: {describe(error)}")

    def bind(self, dn: str, password: str) -> bool:
        """Simple bind; False for wrong credentials. An empty password is never sent with a
        DN: the directory would take it as an unauthenticated bind and say yes."""
        if dn and not password:
            return False
        try:
            self.raw.simple_bind_s(dn, password)
        except ldap.INVALID_CREDENTIALS:
            return False
        except ldap.LDAPError as error:
            raise self._failure(error, "the bind") from None
        return True

    def search(self, base: str, scope: int, filterstr: str, attributes: list[str],
               limit: int = 0) -> tuple[list[Entry], bool]:
        """Entries found (references skipped) and whether ``limit`` cut the answer short."""
        timeout = self.settings.timeout
        entries: list[Entry] = []
        try:
            msgid = self.raw.search_ext(base, scope, filterstr, attributes or None,
                                        timeout=timeout, sizelimit=limit)
            while True:
                kind, data, _, _ = self.raw.result3(msgid, all=0, timeout=timeout)
                if kind == ldap.RES_SEARCH_RESULT:
                    return entries, False
                for dn, found in data or ():
                    if dn is not None and isinstance(found, dict):
                        attrs = {k.lower(): _decode(v) for k, v in found.items()}
                        entries.append(Entry(dn, attrs))
        except ldap.SIZELIMIT_EXCEEDED:
            return entries, True
        except ldap.NO_SUCH_OBJECT:
            return [], False
        except ldap.LDAPError as error:
            raise self._failure(error, "a search") from None

    def read(self, dn: str, attributes: list[str]) -> Entry | None:
        """The entry itself (a base-scope search), or None when it does not exist."""
        found, _ = self.search(dn, ldap.SCOPE_BASE, "(objectClass=*)", attributes, limit=1)
        return found[0] if found else None

    def close(self) -> None:
        with suppress(ldap.LDAPError):
            self.raw.unbind_s()


def _open(settings: LdapSettings) -> ldap.ldapobject.LDAPObject:
    raw = ldap.initialize(settings.url)
    raw.set_option(ldap.OPT_PROTOCOL_VERSION, ldap.VERSION3)
    raw.set_option(ldap.OPT_REFERRALS, 0)  # Active Directory: never chase referrals
    raw.set_option(ldap.OPT_NETWORK_TIMEOUT, float(settings.timeout))
    raw.set_option(ldap.OPT_TIMEOUT, float(settings.timeout))
    raw.timeout = settings.timeout  # python-ldap's synchronous calls wait this long
    if settings.uses_tls:
        demand = ldap.OPT_X_TLS_DEMAND if settings.verify_cert else ldap.OPT_X_TLS_NEVER
        raw.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, demand)
        if settings.ca_file:
            raw.set_option(ldap.OPT_X_TLS_CACERTFILE, settings.ca_file)
        raw.set_option(ldap.OPT_X_TLS_NEWCTX, 0)  # last: applies the TLS options above
    return raw


def _probe_tls(settings: LdapSettings) -> None:
    """Complete a TLS handshake with an ldaps:// server within the timeout, or fail.

    Only proves the server answers; certificate checks are libldap's, on its own connection.
    """
    parts = urlsplit(settings.url.split()[0])
    host, port = parts.hostname or "localhost", parts.port or 636
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=settings.timeout) as raw, \
                context.wrap_socket(raw, server_hostname=host):
            pass
    except TimeoutError:
        raise DirectoryUnavailable(f"{settings.url} did not complete a TLS handshake within "
                                   f"{settings.timeout} s") from None
    except (OSError, ValueError) as error:
        raise DirectoryUnavailable(f"cannot reach {settings.url}: {error}") from None


@contextmanager
def connect(settings: LdapSettings) -> Iterator[Connection]:
    """A connection (StartTLS done when asked); closed on leaving the block."""
    if settings.url.lower().startswith("ldaps://"):
        _probe_tls(settings)
    try:
        raw = _open(settings)
    except ldap.LDAPError as error:
        raise DirectoryError(f"cannot use {settings.url}: {describe(error)}") from None
    conn = Connection(raw, settings)
    try:
        if settings.starttls and not settings.url.lower().startswith("ldaps://"):
            try:
                raw.start_tls_s()
            except ldap.LDAPError as error:
                raise conn._failure(error, "StartTLS") from None
        yield conn
    finally:
        conn.close()
