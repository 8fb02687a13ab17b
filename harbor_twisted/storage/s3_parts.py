"""An S3 upload's parts in the bucket: listed, read back, assembled into a blob, removed."""

from __future__ import annotations

import errno
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from botocore.exceptions import ClientError

from harbor_twisted.storage.digests import Digest
from harbor_twisted.storage.running_hash import UploadHashes
from harbor_twisted.storage.s3_client import S3StorageError, is_missing, storage_errors
from harbor_twisted.storage.s3_layout import Part, S3Layout

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef, ObjectIdentifierTypeDef

READ_SIZE = 1024 * 1024
DELETE_BATCH = 1000  # DeleteObjects' limit
COPY_THREADS = 4  # parts copied at once when a blob is assembled (the copying is S3's work)


@dataclass
class S3Context:
    """What the store and its writers share."""

    client: S3Client
    bucket: str
    layout: S3Layout
    part_size: int
    spool_dir: Path
    uploads: UploadHashes


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


def list_parts(ctx: S3Context, upload_id: str) -> list[Part]:
    """The upload's parts in order; raises S3StorageError if they are not contiguous."""
    parts = []
    paginator = ctx.client.get_paginator("list_objects_v2")
    with storage_errors("listing an upload's parts"):
        for page in paginator.paginate(Bucket=ctx.bucket, Prefix=ctx.layout.parts(upload_id)):
            for item in page.get("Contents", []):
                start = ctx.layout.part_start(upload_id, item["Key"])
                if start is not None:
                    parts.append(Part(start, item["Size"]))
    parts.sort(key=lambda part: part.start)
    expected = 0
    for part in parts:
        if part.start != expected:
            raise S3StorageError(errno.EIO, f"upload {upload_id}: a part is missing at {expected}")
        expected += part.size
    return parts


def read_part(ctx: S3Context, upload_id: str, part: Part, into: Sink | IO[bytes]) -> None:
    """Stream one part into a file (a spool) or a hash, a megabyte at a time."""
    with storage_errors("reading an upload's part"):
        body = ctx.client.get_object(Bucket=ctx.bucket, Key=ctx.layout.part(upload_id, part.start))
        for chunk in body["Body"].iter_chunks(READ_SIZE):
            into.write(chunk)


def assemble(ctx: S3Context, upload_id: str, digest: Digest) -> None:
    """Copy the parts, server-side, to the blob's key; if the blob is there, touch it instead
    (a fresh modification time keeps GC's grace period from sweeping it before its row)."""
    target = ctx.layout.blob(digest)
    bucket = ctx.bucket
    with storage_errors("storing a blob"):
        if _exists(ctx, target):
            ctx.client.copy_object(Bucket=bucket, Key=target, MetadataDirective="REPLACE",
                                   CopySource={"Bucket": bucket, "Key": target})
            return
        parts = list_parts(ctx, upload_id)
        if not parts:
            ctx.client.put_object(Bucket=bucket, Key=target, Body=b"")
        elif len(parts) == 1:  # at most the part size, under copy_object's 5 GiB
            ctx.client.copy_object(Bucket=bucket, Key=target, CopySource={
                "Bucket": bucket, "Key": ctx.layout.part(upload_id, 0)})
        else:
            _multipart_copy(ctx, upload_id, parts, target)


def _multipart_copy(ctx: S3Context, upload_id: str, parts: list[Part], target: str) -> None:
    """Each part becomes a part of one multipart upload (every part but the last is a whole
    part, at least 5 MiB); the blob appears at completion, atomically."""
    bucket = ctx.bucket
    multipart = ctx.client.create_multipart_upload(Bucket=bucket, Key=target)["UploadId"]

    def copy(numbered: tuple[int, Part]) -> CompletedPartTypeDef:
        number, part = numbered
        copied = ctx.client.upload_part_copy(
            Bucket=bucket, Key=target, UploadId=multipart, PartNumber=number,
            CopySource={"Bucket": bucket, "Key": ctx.layout.part(upload_id, part.start)},
        )
        return {"PartNumber": number, "ETag": copied["CopyPartResult"]["ETag"]}

    try:
        with ThreadPoolExecutor(COPY_THREADS, thread_name_prefix="s3-copy") as pool:
            completed = list(pool.map(copy, enumerate(parts, start=1)))
        ctx.client.complete_multipart_upload(
            Bucket=bucket, Key=target, UploadId=multipart, MultipartUpload={"Parts": completed}
        )
    except BaseException:
        ctx.client.abort_multipart_upload(Bucket=bucket, Key=target, UploadId=multipart)
        raise


def _exists(ctx: S3Context, key: str) -> bool:
    try:
        ctx.client.head_object(Bucket=ctx.bucket, Key=key)
    except ClientError as exc:
        if is_missing(exc):
            return False
        raise
    return True


def remove_upload_objects(ctx: S3Context, upload_id: str) -> None:
    """Every object of the upload (its owner and its parts)."""
    delete_prefix(ctx, ctx.layout.upload(upload_id))
    (ctx.spool_dir / f"{upload_id}.lock").unlink(missing_ok=True)


def delete_prefix(ctx: S3Context, prefix: str) -> None:
    paginator = ctx.client.get_paginator("list_objects_v2")
    with storage_errors("removing an upload"):
        for page in paginator.paginate(Bucket=ctx.bucket, Prefix=prefix,
                                       PaginationConfig={"PageSize": DELETE_BATCH}):
            keys: list[ObjectIdentifierTypeDef] = [
                {"Key": item["Key"]} for item in page.get("Contents", [])
            ]
            if keys:
                ctx.client.delete_objects(Bucket=ctx.bucket, Delete={"Objects": keys,
                                                                     "Quiet": True})
