"""The configured blob store: the one place that picks a storage driver."""

from __future__ import annotations

from pathlib import Path

from harbor_twisted.config import Config
from harbor_twisted.storage.advisory_locks import AdvisoryLocks
from harbor_twisted.storage.base import BlobStore, StorageLocks
from harbor_twisted.storage.filesystem import FilesystemBlobStore
from harbor_twisted.storage.s3 import S3BlobStore
from harbor_twisted.storage.s3_client import S3Settings


def open_blob_store(config: Config) -> BlobStore:
    """The blob store under the data directory, or in an S3 bucket (``storage_driver``).

    On the filesystem, ``blob_serving: x-accel-redirect`` names blobs by nginx's internal
    location too (the role maps it onto ``blobs/``); on S3, ``redirect`` sends pulls to a
    pre-signed URL.
    """
    if config.storage_driver == "s3":
        return S3BlobStore(s3_settings(config), config.data,
                           presign=config.blob_serving == "redirect",
                           locks=shared_locks(config))
    prefix = config.x_accel_prefix if config.blob_serving == "x-accel-redirect" else None
    return FilesystemBlobStore(config.data, x_accel_prefix=prefix)


def shared_locks(config: Config) -> StorageLocks | None:
    """Locks every host sharing the bucket sees: advisory locks in a PostgreSQL database.

    None (the driver's local flocks) on SQLite, which one host alone uses. The filesystem
    driver keeps its flocks: its data directory is one host's.
    """
    url = config.effective_database_url
    return AdvisoryLocks(url) if url.startswith("postgresql") else None


def s3_settings(config: Config) -> S3Settings:
    """Key files named relative to the secrets directory are looked up there."""
    secrets = config.effective_secrets_dir

    def in_secrets(path: Path | None) -> Path:
        assert path is not None, "checked when the configuration was loaded"
        return path if path.is_absolute() else secrets / path

    return S3Settings(
        endpoint=config.s3_endpoint,
        region=config.s3_region,
        bucket=config.s3_bucket,
        prefix=config.s3_prefix,
        path_style=config.s3_path_style,
        verify_tls=config.s3_verify_tls,
        ca_file=config.s3_ca_file,
        part_size=config.s3_part_size_mb * 1024 * 1024,
        access_key_file=in_secrets(config.s3_access_key_file),
        secret_key_file=in_secrets(config.s3_secret_key_file),
    )
