"""The S3 driver through the BlobStore protocol, against the real Ceph RADOS Gateway:
writers, resume from another host, commit, readers, listing, expiry and locks."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from pathlib import Path

import pytest

from harbor_twisted.storage.base import BlobMissing, DigestMismatch, UploadBusy, UploadMissing
from harbor_twisted.storage.digests import Digest, digest_bytes
from harbor_twisted.storage.s3 import S3BlobStore
from harbor_twisted.storage.s3_client import S3ConfigError, S3Settings
from tests.support.ceph_rgw import S3Account

MiB = 1024 * 1024
UPLOAD = "0b6a2f4e-5a7c-4d1e-9f3b-2c8d7e6a5b4c"


@pytest.fixture
def settings(s3_account: S3Account) -> S3Settings:
    return S3Settings(s3_account.endpoint, "us-east-1", s3_account.bucket,
                      "unit-" + secrets.token_hex(4), True, True, None, 5 * MiB,
                      s3_account.access_key_file, s3_account.secret_key_file)


def _host(settings: S3Settings, root: Path, presign: bool = False) -> S3BlobStore:
    """One host's store: its own local spool and locks, the shared bucket."""
    store = S3BlobStore(settings, root, presign=presign)
    store.prepare()
    return store


def test_a_resumed_upload_grows_its_short_part_and_commits_by_multipart_copy(settings, tmp_path):
    one, two = _host(settings, tmp_path / "one"), _host(settings, tmp_path / "two")
    data = os.urandom(13 * MiB + 11)
    one.create_upload(UPLOAD, "library/a")
    writer = one.open_upload(UPLOAD, "library/a")
    writer.write(data[:3 * MiB])
    writer.close()  # a short part, stored
    assert two.upload_size(UPLOAD, "library/a") == 3 * MiB
    resumed = two.open_upload(UPLOAD, "library/a", "sha512")
    assert resumed.size == 3 * MiB
    resumed.write(data[3 * MiB:])
    expected = Digest("sha512", hashlib.sha512(data).hexdigest())
    assert resumed.digest("sha512") == expected  # re-hashed from the bucket's parts
    assert resumed.commit(expected).size == len(data)
    assert one.blob_size(expected) == len(data)
    with one.open_blob(expected, offset=10 * MiB) as reader:
        assert reader.read() == data[10 * MiB:]
    assert one.upload_size(UPLOAD, "library/a") == len(data)  # kept until the blob is recorded
    resumed.abort()
    with pytest.raises(UploadMissing):
        one.upload_size(UPLOAD, "library/a")
    assert [d for d, _ in one.list_blobs()] == [expected]


def test_one_writer_at_a_time_on_a_host_and_only_in_its_repository(settings, tmp_path):
    store, same_host = _host(settings, tmp_path), _host(settings, tmp_path)
    store.create_upload(UPLOAD, "library/a")
    with pytest.raises(UploadMissing):
        store.open_upload(UPLOAD, "library/b")
    writer = store.open_upload(UPLOAD, "library/a")
    with pytest.raises(UploadBusy):
        same_host.open_upload(UPLOAD, "library/a")
    assert store.busy_uploads() == {UPLOAD}
    writer.close()
    same_host.open_upload(UPLOAD, "library/a").abort()
    with pytest.raises(UploadMissing):
        store.open_upload(UPLOAD, "library/a")


def test_a_wrong_digest_keeps_the_upload_and_it_can_grow(settings, tmp_path):
    store = _host(settings, tmp_path)
    store.create_upload(UPLOAD, "library/a")
    writer = store.open_upload(UPLOAD, "library/a")
    writer.write(b"abc")
    with pytest.raises(DigestMismatch):
        writer.commit(digest_bytes(b"abd"))
    writer.close()
    again = _host(settings, tmp_path / "other").open_upload(UPLOAD, "library/a")
    again.write(b"def")
    assert again.commit(digest_bytes(b"abcdef")).size == 6


def test_empty_blob_missing_blob_delete_and_redirect(settings, tmp_path):
    store = _host(settings, tmp_path, presign=True)
    store.create_upload(UPLOAD, "library/a")
    empty = digest_bytes(b"")
    store.open_upload(UPLOAD, "library/a").commit(empty)
    assert store.blob_size(empty) == 0
    with store.open_blob(empty) as reader:
        assert reader.read() == b""
    redirect = store.redirect(empty)
    assert redirect is not None and not redirect.internal and "X-Amz-Signature" in redirect.location
    assert store.delete_blob(empty) and not store.delete_blob(empty)
    with pytest.raises(BlobMissing):
        store.open_blob(empty)
    assert store.blob_size(empty) is None


def test_expiry_keeps_what_is_kept_or_written(settings, tmp_path):
    store = _host(settings, tmp_path)
    kept, busy, stale = (f"{UPLOAD[:-1]}{n}" for n in "123")
    for upload_id in (kept, busy, stale):
        store.create_upload(upload_id, "library/a")
    writer = store.open_upload(busy, "library/a")
    assert sorted(store.expire_uploads(time.time() + 60, {kept})) == [stale]
    writer.close()
    assert store.upload_size(kept, "library/a") == 0


def test_a_key_file_others_can_read_is_refused(settings, tmp_path):
    exposed = tmp_path / "access"
    exposed.write_text("key")
    exposed.chmod(0o604)
    with pytest.raises(S3ConfigError, match="s3_access_key_file"):
        S3BlobStore(S3Settings(**{**settings.__dict__, "access_key_file": exposed}), tmp_path)
