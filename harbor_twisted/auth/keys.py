"""The token signing key and its certificate, generated on first start or supplied.

Both live in the secrets directory (0700) as 0600 files. The certificate goes into every
token's ``x5c`` header so that other verifiers (Docker Distribution) can check tokens against
it; our own verifier never reads key material from a token.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

KEY_FILE = "token_signing_key.pem"
CERT_FILE = "token_signing_cert.pem"


@dataclass(frozen=True)
class SigningKey:
    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    @property
    def kid(self) -> str:
        return key_id(self.public_key)

    @property
    def certificate_der_b64(self) -> str:
        return base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode()


def key_id(public_key: rsa.RSAPublicKey) -> str:
    """The libtrust key id Docker Distribution matches ``kid`` against.

    SHA-256 of the DER public key, first 240 bits, base32, in colon-separated groups of four.
    """
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def ensure_private_directory(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def _self_signed(private_key: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private_key, hashes.SHA256())
    )


def load_or_create(
    secrets_dir: Path,
    common_name: str = "harbor-twisted token signer",
    key_path: Path | None = None,
    cert_path: Path | None = None,
) -> SigningKey:
    """Load the configured key pair, or generate one in the secrets directory on first start."""
    key_path = key_path or secrets_dir / KEY_FILE
    cert_path = cert_path or secrets_dir / CERT_FILE
    if not key_path.exists():
        ensure_private_directory(key_path.parent)
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        _write_private(
            key_path,
            private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        certificate = _self_signed(private_key, common_name)
        _write_private(cert_path, certificate.public_bytes(serialization.Encoding.PEM))
    loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{key_path}: the token signing key must be an RSA key")
    private_key = loaded
    if not cert_path.exists():
        _write_private(
            cert_path,
            _self_signed(private_key, common_name).public_bytes(serialization.Encoding.PEM),
        )
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    public = certificate.public_key()
    if (not isinstance(public, rsa.RSAPublicKey)
            or public.public_numbers() != private_key.public_key().public_numbers()):
        raise ValueError(f"{cert_path}: the certificate does not match the signing key")
    return SigningKey(private_key, certificate)
