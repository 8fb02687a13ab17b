"""Internal TLS: a process listens with TLS when it is given a certificate and its key, so
the proxy in front and the other processes (possibly on other hosts) reach it encrypted and
verify it against the site's CA (their ``trusted_ca_file``).

The key is a secret the service must read back: it belongs in the secrets directory, so a
key file that others than its owner and group may read is refused, as ssh refuses one.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

from twisted.internet import ssl
from twisted.internet.interfaces import IProtocolFactory
from twisted.protocols.tls import TLSMemoryBIOFactory

_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


class ServerTLSError(Exception):
    """The certificate or key cannot be used; the message names the file and why."""


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ServerTLSError(f"{what}: cannot read {path}: {exc.strerror}") from None


def server_options(certificate_file: Path, key_file: Path) -> ssl.CertificateOptions:
    """The certificate (first in the file; the rest is its chain) with its private key."""
    mode = key_file.stat().st_mode if key_file.exists() else 0
    if mode & stat.S_IROTH:
        raise ServerTLSError(f"internal_tls_key_file: {key_file} is readable by others "
                             "(keep it 0600 or 0640 in the secrets directory)")
    chain = _PEM_CERTIFICATE.findall(_read(certificate_file, "internal_tls_certificate_file"))
    if not chain:
        raise ServerTLSError(f"internal_tls_certificate_file: no PEM certificate in "
                             f"{certificate_file}")
    key = _read(key_file, "internal_tls_key_file")
    try:
        leaf = ssl.PrivateCertificate.loadPEM(chain[0] + b"\n" + key)
        extra = [ssl.Certificate.loadPEM(block).original for block in chain[1:]]
    except Exception as exc:  # OpenSSL's errors name no file
        raise ServerTLSError(f"internal_tls_certificate_file/internal_tls_key_file: "
                             f"{certificate_file} and {key_file} do not make a certificate "
                             f"and its key ({exc})") from None
    return ssl.CertificateOptions(privateKey=leaf.privateKey.original,
                                  certificate=leaf.original, extraCertChain=extra)


def with_tls(factory: IProtocolFactory, options: ssl.CertificateOptions) -> IProtocolFactory:
    """The factory's protocol behind TLS (for a port this process binds or adopts)."""
    return TLSMemoryBIOFactory(options, False, factory)
