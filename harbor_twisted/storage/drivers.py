"""The configured blob store: the one place that picks a storage driver."""

from __future__ import annotations

from harbor_twisted.config import Config
from harbor_twisted.storage.base import BlobStore
from harbor_twisted.storage.filesystem import FilesystemBlobStore


def open_blob_store(config: Config) -> BlobStore:
    """The blob store under the data directory; with ``blob_serving: x-accel-redirect`` it
    names blobs by nginx's internal location too (the role maps it onto ``blobs/``)."""
    prefix = config.x_accel_prefix if config.blob_serving == "x-accel-redirect" else None
    return FilesystemBlobStore(config.data, x_accel_prefix=prefix)
