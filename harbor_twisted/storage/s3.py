"""S3 blob store (Ceph's RADOS Gateway, AWS S3, any S3-compatible service).

Every method talks to S3 and blocks: callers run them in a disk thread, as for the
filesystem, except the writer's ``write`` (see s3_upload.py). The bucket layout is in
s3_layout.py. Several hosts may share the bucket:

- every acknowledged chunk of an upload is in the bucket, so another host resumes an upload
  (after a load balancer's failover) and re-hashes it at commit;
- the exclusions (one writer per upload, a digest's commit against its deletion by GC) are
  the ``locks`` given: this host's flocks (local_locks.py) when it is the only one, or
  PostgreSQL advisory locks (advisory_locks.py) when hosts share the bucket and a
  PostgreSQL database.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from botocore.exceptions import ClientError

from harbor_twisted.storage.base import (
    UPLOAD_ID,
    BlobMissing,
    BlobReader,
    DigestLock,
    Redirect,
    StorageLocks,
    UploadBusy,
    UploadMissing,
)
from harbor_twisted.storage.digests import DEFAULT_ALGORITHM, Digest
from harbor_twisted.storage.local_locks import LocalLocks
from harbor_twisted.storage.running_hash import UploadHashes
from harbor_twisted.storage.s3_client import (
    S3Settings,
    is_missing,
    make_client,
    storage_errors,
)
from harbor_twisted.storage.s3_layout import S3Layout
from harbor_twisted.storage.s3_parts import S3Context, delete_prefix, list_parts
from harbor_twisted.storage.s3_reader import S3BlobReader
from harbor_twisted.storage.s3_upload import S3UploadWriter

PRESIGNED_SECONDS = 20 * 60  # a pre-signed blob URL's life: long enough to start a pull


class S3BlobStore:
    def __init__(self, settings: S3Settings, local_root: Path, presign: bool = False,
                 locks: StorageLocks | None = None) -> None:
        """``local_root``: this host's spool (uploads' parts on their way) and, without
        ``locks`` shared with the other hosts, its locks."""
        self.settings = settings
        self.lock_root = local_root / "locks"
        self.presign = presign
        self.locks: StorageLocks = locks or LocalLocks(self.lock_root, local_root / "s3-spool")
        self.ctx = S3Context(
            client=make_client(settings),
            bucket=settings.bucket,
            layout=S3Layout(settings.prefix),
            part_size=settings.part_size,
            spool_dir=local_root / "s3-spool",
            uploads=UploadHashes(),
        )

    def prepare(self) -> None:
        """The bucket (created when missing) and the local spool and lock directories."""
        for directory in (self.ctx.spool_dir, self.lock_root):
            directory.mkdir(parents=True, exist_ok=True)
        bucket = self.settings.bucket
        with storage_errors(f"checking bucket {bucket}"):
            try:
                self.ctx.client.head_bucket(Bucket=bucket)
            except ClientError as exc:
                if not is_missing(exc):
                    raise
                if self.settings.region == "us-east-1":
                    self.ctx.client.create_bucket(Bucket=bucket)
                else:
                    self.ctx.client.create_bucket(Bucket=bucket, CreateBucketConfiguration={
                        "LocationConstraint": self.settings.region})  # type: ignore[typeddict-item]

    # -- uploads --------------------------------------------------------------------------

    def create_upload(self, upload_id: str, repository: str) -> None:
        if not UPLOAD_ID.match(upload_id):
            raise UploadMissing(upload_id)
        with storage_errors("creating an upload"):
            self.ctx.client.put_object(Bucket=self.ctx.bucket, Key=self.ctx.layout.owner(upload_id),
                                       Body=repository.encode("utf-8"))

    def _check_owner(self, upload_id: str, repository: str) -> None:
        if not UPLOAD_ID.match(upload_id):
            raise UploadMissing(upload_id)
        with storage_errors("reading an upload"):
            try:
                body = self.ctx.client.get_object(
                    Bucket=self.ctx.bucket, Key=self.ctx.layout.owner(upload_id))["Body"]
            except ClientError as exc:
                if is_missing(exc):
                    raise UploadMissing(upload_id) from None
                raise
            owner = body.read().decode("utf-8", "replace")
        if owner != repository:
            raise UploadMissing(upload_id)

    def open_upload(
        self, upload_id: str, repository: str, algorithm: str = DEFAULT_ALGORITHM
    ) -> S3UploadWriter:
        self._check_owner(upload_id, repository)
        self.ctx.spool_dir.mkdir(parents=True, exist_ok=True)
        lock = self.locks.try_lock_upload(upload_id)
        if lock is None:
            raise UploadBusy(upload_id)
        try:
            parts = list_parts(self.ctx, upload_id)
            state = self.ctx.uploads.hash_for(upload_id, sum(p.size for p in parts), algorithm)
            return S3UploadWriter(self.ctx, upload_id, parts, state, lock)
        except BaseException:
            lock.release()
            raise

    def upload_size(self, upload_id: str, repository: str) -> int:
        self._check_owner(upload_id, repository)
        return sum(part.size for part in list_parts(self.ctx, upload_id))

    def remove_upload(self, upload_id: str) -> None:
        self.ctx.uploads.forget(upload_id)
        if UPLOAD_ID.match(upload_id):
            delete_prefix(self.ctx, self.ctx.layout.upload(upload_id))
            self.locks.forget_upload(upload_id)

    def busy_uploads(self) -> set[str]:
        return set(self.ctx.uploads.writing)

    def _upload_times(self) -> dict[str, float]:
        """Every upload in the bucket with the last time one of its objects changed."""
        times: dict[str, float] = {}
        paginator = self.ctx.client.get_paginator("list_objects_v2")
        with storage_errors("listing uploads"):
            for page in paginator.paginate(Bucket=self.ctx.bucket, Prefix=self.ctx.layout.uploads):
                for item in page.get("Contents", []):
                    upload_id = self.ctx.layout.upload_id_of(item["Key"])
                    if upload_id is not None:
                        mtime = item["LastModified"].timestamp()
                        times[upload_id] = max(times.get(upload_id, 0.0), mtime)
        return times

    def expire_uploads(self, older_than: float, keep: set[str]) -> list[str]:
        """Remove stale uploads, and abort multipart uploads a commit left behind (a host
        that died while assembling a blob)."""
        removed = []
        for upload_id, mtime in self._upload_times().items():
            if mtime < older_than and upload_id not in keep | self.ctx.uploads.writing:
                held = self.locks.try_lock_upload(upload_id)
                if held is None:
                    continue  # a writer holds it, on another host maybe
                try:
                    self.remove_upload(upload_id)
                finally:
                    held.release()
                removed.append(upload_id)
        self.abort_stale_multipart(older_than)
        return removed

    def abort_stale_multipart(self, older_than: float) -> int:
        aborted = 0
        paginator = self.ctx.client.get_paginator("list_multipart_uploads")
        with storage_errors("listing multipart uploads"):
            for page in paginator.paginate(Bucket=self.ctx.bucket, Prefix=self.ctx.layout.root):
                for item in page.get("Uploads", []):
                    if item["Initiated"].timestamp() < older_than:
                        with contextlib.suppress(ClientError):
                            self.ctx.client.abort_multipart_upload(
                                Bucket=self.ctx.bucket, Key=item["Key"], UploadId=item["UploadId"])
                            aborted += 1
        return aborted

    # -- finished blobs -------------------------------------------------------------------

    def blob_size(self, digest: Digest) -> int | None:
        with storage_errors("reading a blob's size"):
            try:
                head = self.ctx.client.head_object(
                    Bucket=self.ctx.bucket, Key=self.ctx.layout.blob(digest))
            except ClientError as exc:
                if is_missing(exc):
                    return None
                raise
        return head["ContentLength"]

    def open_blob(self, digest: Digest, offset: int = 0) -> BlobReader:
        key = self.ctx.layout.blob(digest)
        with storage_errors("reading a blob"):
            try:
                if offset:
                    answer = self.ctx.client.get_object(
                        Bucket=self.ctx.bucket, Key=key, Range=f"bytes={offset}-")
                else:
                    answer = self.ctx.client.get_object(Bucket=self.ctx.bucket, Key=key)
            except ClientError as exc:
                if is_missing(exc):
                    raise BlobMissing(str(digest)) from None
                if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                    return S3BlobReader(None)  # the offset is the blob's end
                raise
        return S3BlobReader(answer["Body"])

    def redirect(self, digest: Digest) -> Redirect | None:
        """With ``blob_serving: redirect``, a pre-signed GET of the blob (computed here,
        no request to S3)."""
        if not self.presign:
            return None
        url = self.ctx.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.ctx.bucket, "Key": self.ctx.layout.blob(digest)},
            ExpiresIn=PRESIGNED_SECONDS,
        )
        return Redirect(url, internal=False)

    def delete_blob(self, digest: Digest) -> bool:
        if self.blob_size(digest) is None:
            return False
        with storage_errors("deleting a blob"):
            self.ctx.client.delete_object(Bucket=self.ctx.bucket, Key=self.ctx.layout.blob(digest))
        return True

    def list_blobs(self) -> Iterator[tuple[Digest, float]]:
        paginator = self.ctx.client.get_paginator("list_objects_v2")
        with storage_errors("listing blobs"):
            for page in paginator.paginate(Bucket=self.ctx.bucket, Prefix=self.ctx.layout.blobs):
                for item in page.get("Contents", []):
                    digest = self.ctx.layout.digest_of(item["Key"])
                    if digest is not None:
                        yield digest, item["LastModified"].timestamp()

    def lock_digest(self, digest: Digest) -> DigestLock:
        """The digest's lock, for the hosts ``locks`` covers (see the module's docstring)."""
        return self.locks.lock_digest(digest)
