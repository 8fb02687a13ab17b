"""The boto3 S3 client the S3 driver talks through, built from the configuration.

The access and secret keys come from files that only their owner may read (0600, in the
secrets directory); a key file others can read is refused, as is an empty one.
"""

from __future__ import annotations

import contextlib
import errno
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3ConfigError(ValueError):
    """The S3 settings or key files are unusable; the message names the setting."""


class S3StorageError(OSError):
    """S3 refused or did not answer: an OSError, as a full disk would be for the filesystem."""


@contextlib.contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """S3's and botocore's errors as S3StorageError, naming what was being done."""
    try:
        yield
    except ClientError as exc:
        raise S3StorageError(errno.EIO, f"S3 {what}: {error_code(exc)}") from exc
    except BotoCoreError as exc:
        raise S3StorageError(errno.EIO, f"S3 {what}: {exc}") from exc


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_missing(exc: ClientError) -> bool:
    """A 404 of any kind (NoSuchKey, NotFound on HEAD, NoSuchUpload)."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 404 or error_code(exc) in ("NoSuchKey", "NotFound", "404", "NoSuchUpload")


@dataclass(frozen=True)
class S3Settings:
    endpoint: str
    region: str
    bucket: str
    prefix: str
    path_style: bool
    verify_tls: bool
    ca_file: Path | None
    part_size: int
    access_key_file: Path
    secret_key_file: Path


def read_key_file(setting: str, path: Path) -> str:
    """A key from a file its owner alone can read."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise S3ConfigError(f"{setting}: cannot read {path} ({exc.strerror})") from None
    if stat.S_IMODE(mode) & 0o077:
        raise S3ConfigError(f"{setting}: {path} must be readable by its owner only (0600)")
    if not text:
        raise S3ConfigError(f"{setting}: {path} is empty")
    return text


def make_client(settings: S3Settings) -> S3Client:
    """A thread-safe client (boto3 clients are; sessions are not): one per blob store."""
    verify: bool | str = settings.verify_tls
    if settings.verify_tls and settings.ca_file is not None:
        verify = str(settings.ca_file)
    session = boto3.session.Session(
        aws_access_key_id=read_key_file("s3_access_key_file", settings.access_key_file),
        aws_secret_access_key=read_key_file("s3_secret_key_file", settings.secret_key_file),
        region_name=settings.region,
    )
    return session.client(
        "s3",
        endpoint_url=settings.endpoint or None,
        verify=verify,
        config=BotoConfig(
            s3={"addressing_style": "path" if settings.path_style else "virtual"},
            signature_version="s3v4",
            retries={"max_attempts": 5, "mode": "standard"},
            max_pool_connections=32,
            # checksums only where S3 requires them: older gateways (Ceph 16) refuse the
            # default trailing CRC32 of newer botocore
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )
