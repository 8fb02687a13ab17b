"""The filesystem driver through the BlobStore protocol: writers, resume, commit, readers."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from harbor_twisted.storage import filesystem
from harbor_twisted.storage.base import (
    BlobMissing,
    BlobStore,
    DigestMismatch,
    UploadBusy,
    UploadMissing,
)
from harbor_twisted.storage.digests import Digest, digest_bytes
from harbor_twisted.storage.filesystem import FilesystemBlobStore

UPLOAD = "0b6a2f4e-5a7c-4d1e-9f3b-2c8d7e6a5b4c"


def _store(root: Path, prefix: str | None = None) -> BlobStore:
    store = FilesystemBlobStore(root, x_accel_prefix=prefix)
    store.prepare()
    return store


def test_chunks_from_two_writers_commit_under_their_digest(tmp_path):
    store = _store(tmp_path)
    store.create_upload(UPLOAD, "library/a")
    first = store.open_upload(UPLOAD, "library/a")
    first.write(b"hello ")
    first.close()
    second = store.open_upload(UPLOAD, "library/a")
    assert second.size == 6
    second.write(b"world")
    expected = digest_bytes(b"hello world")
    assert second.digest("sha256") == expected
    stored = second.commit(expected)
    assert (stored.digest, stored.size) == (expected, 11)
    assert store.blob_size(expected) == 11
    with store.open_blob(expected, offset=6) as reader:
        assert reader.read() == b"world"
    assert store.upload_size(UPLOAD, "library/a") == 11  # until the blob is recorded
    second.abort()
    with pytest.raises(UploadMissing):
        store.upload_size(UPLOAD, "library/a")


def test_an_upload_committed_but_never_ended_completes_again_and_never_touches_the_blob(
    tmp_path,
):
    store = _store(tmp_path)
    store.create_upload(UPLOAD, "library/a")
    writer = store.open_upload(UPLOAD, "library/a")
    writer.write(b"stored")
    writer.commit(digest_bytes(b"stored"))
    writer.close()  # the process died before recording the blob and ending the upload
    again = _store(tmp_path).open_upload(UPLOAD, "library/a")
    assert again.size == 6
    again.write(b" and more")  # a confused client appends: the stored blob stays as it was
    again.close()
    with store.open_blob(digest_bytes(b"stored")) as reader:
        assert reader.read() == b"stored"
    finish = store.open_upload(UPLOAD, "library/a")
    finish.commit(digest_bytes(b"stored and more"))
    finish.abort()
    assert store.blob_size(digest_bytes(b"stored and more")) == 15


def test_an_upload_resumed_by_another_process_is_re_hashed_from_storage(tmp_path):
    one, other = _store(tmp_path), _store(tmp_path)  # two processes share the data volume
    one.create_upload(UPLOAD, "library/a")
    writer = one.open_upload(UPLOAD, "library/a")
    writer.write(b"x" * 1000)
    writer.close()
    resumed = other.open_upload(UPLOAD, "library/a", "sha512")
    resumed.write(b"y" * 10)
    data = b"x" * 1000 + b"y" * 10
    expected = Digest("sha512", hashlib.sha512(data).hexdigest())
    assert resumed.digest("sha512") == expected
    resumed.commit(expected)
    with other.open_blob(expected) as reader:
        assert reader.read() == data


def test_one_writer_at_a_time_and_only_in_its_repository(tmp_path):
    store = _store(tmp_path)
    store.create_upload(UPLOAD, "library/a")
    with pytest.raises(UploadMissing):
        store.open_upload(UPLOAD, "library/b")
    with pytest.raises(UploadMissing):
        store.open_upload("../../etc", "library/a")
    writer = store.open_upload(UPLOAD, "library/a")
    with pytest.raises(UploadBusy):
        _store(tmp_path).open_upload(UPLOAD, "library/a")
    assert store.busy_uploads() == {UPLOAD}
    assert store.expire_uploads(older_than=2**40, keep=set()) == []
    writer.close()
    assert store.busy_uploads() == set()
    assert store.expire_uploads(older_than=2**40, keep=set()) == [UPLOAD]


def test_a_wrong_digest_keeps_the_upload(tmp_path):
    store = _store(tmp_path)
    store.create_upload(UPLOAD, "library/a")
    writer = store.open_upload(UPLOAD, "library/a")
    writer.write(b"abc")
    with pytest.raises(DigestMismatch):
        writer.commit(digest_bytes(b"abd"))
    writer.close()
    assert store.upload_size(UPLOAD, "library/a") == 3


class _FullDisk:
    """A file whose next write finds the disk full."""

    def __init__(self, file):
        self.file = file

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name):
        return getattr(self.file, name)


def test_a_failed_write_leaves_the_upload_as_it_was(tmp_path):
    store = _store(tmp_path)
    store.create_upload(UPLOAD, "library/a")
    writer = store.open_upload(UPLOAD, "library/a")
    writer.write(b"kept")
    writer.close()
    writer = store.open_upload(UPLOAD, "library/a")
    writer.write(b"lost")
    writer._file = _FullDisk(writer._file)
    with pytest.raises(OSError) as raised:
        writer.write(b"more")
    assert raised.value.errno == errno.ENOSPC
    assert writer.size == 4
    writer.close()
    assert store.upload_size(UPLOAD, "library/a") == 4
    resumed = store.open_upload(UPLOAD, "library/a")
    assert resumed.digest("sha256") == digest_bytes(b"kept")
    resumed.close()


def test_a_failed_write_while_the_hash_thread_runs_leaves_the_upload_as_it_was(tmp_path):
    """Past DIRECT_HASH_BYTES a thread hashes; a full disk then drops its hash as well."""
    store = _store(tmp_path)
    store.create_upload(UPLOAD, "library/a")
    writer = store.open_upload(UPLOAD, "library/a")
    kept = os.urandom(filesystem.DIRECT_HASH_BYTES + 1024 * 1024)  # the thread started
    writer.write(kept)
    writer.close()
    writer = store.open_upload(UPLOAD, "library/a")
    for _ in range(6):  # 6 MiB: hashed by this writer's thread
        writer.write(os.urandom(1024 * 1024))
    assert writer._hashing is not None
    writer._file = _FullDisk(writer._file)
    with pytest.raises(OSError):
        writer.write(b"more")
    assert writer.size == len(kept)
    assert writer.digest("sha256") == digest_bytes(kept)  # the running hash, rolled back
    writer.close()
    assert store.upload_size(UPLOAD, "library/a") == len(kept)


def test_blobs_are_listed_deleted_and_served_by_redirect(tmp_path):
    store = _store(tmp_path, prefix="/_blobstore")
    store.create_upload(UPLOAD, "library/a")
    writer = store.open_upload(UPLOAD, "library/a")
    writer.write(b"blob")
    digest = digest_bytes(b"blob")
    writer.commit(digest)
    writer.abort()
    assert [d for d, _mtime in store.list_blobs()] == [digest]
    redirect = store.redirect(digest)
    assert redirect is not None and redirect.internal
    assert redirect.location == f"/_blobstore/sha256/{digest.hex[:2]}/{digest.hex}"
    assert _store(tmp_path).redirect(digest) is None
    with store.lock_digest(digest):
        assert store.delete_blob(digest)
    assert store.blob_size(digest) is None
    with pytest.raises(BlobMissing):
        store.open_blob(digest)
    assert not os.listdir(tmp_path / "uploads")


def test_the_writeback_of_received_bytes_is_queued_as_they_arrive(tmp_path, monkeypatch):
    """Every WRITEBACK_BYTES received, what arrived since the last one is handed to the
    kernel's writeback (so commit's fsync overlaps the transfer), in order, without gaps."""
    queued: list[tuple[int, int]] = []
    real = filesystem.start_writeback

    def record(fd: int, offset: int, length: int) -> None:
        assert os.fstat(fd).st_size >= offset + length  # the bytes reached the file first
        real(fd, offset, length)  # the real call: sync_file_range on Linux
        queued.append((offset, length))

    monkeypatch.setattr(filesystem, "start_writeback", record)
    store = _store(tmp_path)
    store.create_upload(UPLOAD, "library/a")
    writer = store.open_upload(UPLOAD, "library/a")
    chunk = os.urandom(3 * 1024 * 1024)
    for _ in range(7):  # 21 MiB
        writer.write(chunk)
    stored = writer.commit(digest_bytes(chunk * 7))  # waits for the append thread
    assert stored.size == 21 * 1024 * 1024
    step = filesystem.WRITEBACK_BYTES
    assert queued == [(0, 9 * 1024 * 1024), (9 * 1024 * 1024, 9 * 1024 * 1024)]
    assert all(length >= step for _, length in queued)
