"""Blob APIs, once per digest algorithm (the suite's ``TestBlobAPIs`` for sha256 and sha512):
every way to upload a blob, mounts, upload cancel, range requests, well-known blobs, uploads
with a wrong digest, and blob delete.

Each test pushes its own random blob, so the tests do not depend on each other.
"""

from __future__ import annotations

import os

import pytest
import requests

from ._client import (
    OciClient,
    assert_blob_answer,
    assert_digest_header,
    assert_oci_error,
    describe,
    digest_of,
    unique_repo,
)

ALGORITHMS = ["sha256", "sha512"]
CHUNK_MIN = 1024  # the suite's smallest chunk


@pytest.fixture(scope="module")
def repo() -> str:
    return unique_repo("blobs")


@pytest.fixture(scope="module")
def source_repo() -> str:
    """The second repository, that mounts come from."""
    return unique_repo("blobs-source")


@pytest.fixture(scope="module")
def chunk_size(oci: OciClient, repo: str) -> int:
    """The chunk size to use: the suite's minimum, or the registry's OCI-Chunk-Min-Length."""
    resp = oci.start_upload(repo)
    assert resp.status_code == 202, describe(resp)
    minimum = resp.headers.get("OCI-Chunk-Min-Length")
    oci.request("DELETE", oci.upload_url(resp))
    return max(CHUNK_MIN, int(minimum) if minimum else 0)


@pytest.fixture(params=ALGORITHMS)
def algo(request: pytest.FixtureRequest) -> str:
    """The digest algorithm of the test's blobs."""
    return str(request.param)


def _verify_pushed(
    oci: OciClient, repo: str, resp: requests.Response, data: bytes, digest: str
) -> None:
    """What the suite checks after every successful upload: 201, Location serving the blob,
    the digest header if sent, then HEAD and GET of the blob."""
    assert resp.status_code == 201, describe(resp)
    assert resp.headers.get("Location"), describe(resp)
    assert_digest_header(resp, digest)
    assert_blob_answer(oci.request("GET", oci.upload_url(resp)), data, digest)
    assert_blob_answer(oci.blob(repo, digest, method="HEAD"), data, digest, method="HEAD")
    assert_blob_answer(oci.blob(repo, digest), data, digest)


def _start(oci: OciClient, repo: str) -> str:
    resp = oci.start_upload(repo)
    assert resp.status_code == 202, describe(resp)
    return oci.upload_url(resp)


def _chunked(
    oci: OciClient,
    repo: str,
    data: bytes,
    digest: str,
    chunk: int,
    put_last_chunk: bool = False,
    out_of_order: bool = False,
) -> requests.Response:
    """Upload ``data`` in chunks, optionally sending a wrong chunk before each good one
    (which must answer 416 and leave the upload resumable), optionally sending the last
    chunk with the closing PUT.  Returns the closing PUT's answer."""
    url = _start(oci, repo)
    last = -1
    while last < len(data) - 1:
        if out_of_order:
            bad_start = last + 1 + chunk
            if bad_start >= len(data):
                bad_start = 0
            bad_end = min(bad_start + chunk, len(data))
            closing = put_last_chunk and bad_end == len(data)
            bad = oci.patch_chunk(
                oci.upload_url_with_digest(url, digest) if closing else url,
                data[bad_start:bad_end],
                start=bad_start,
                method="PUT" if closing else "PATCH",
            )
            assert bad.status_code == 416, describe(bad)
            status = oci.request("GET", url)
            assert status.status_code == 204, describe(status)
            assert status.headers.get("Location"), describe(status)
            offset = status.headers.get("Range", "")
            assert offset.startswith("0-"), describe(status)
            assert int(offset[2:]) == last or last < 0, describe(status)
            url = oci.upload_url(status)
        start, end = last + 1, min(last + 1 + chunk, len(data))
        if put_last_chunk and end == len(data):
            return oci.patch_chunk(
                oci.upload_url_with_digest(url, digest), data[start:end], start=start, method="PUT"
            )
        resp = oci.patch_chunk(url, data[start:end], start=start)
        assert resp.status_code == 202, describe(resp)
        assert resp.headers.get("Range") == f"0-{end - 1}", describe(resp)
        url = oci.upload_url(resp)
        last = end - 1
    return oci.finish_upload(url, digest)


# -- the upload APIs ------------------------------------------------------------------------------


def test_get_missing_blob_answers_404(oci: OciClient, repo: str, algo: str) -> None:
    resp = oci.blob(repo, digest_of(os.urandom(512), algo))
    assert resp.status_code == 404, describe(resp)


def test_post_only_upload_answers_201(oci: OciClient, repo: str, algo: str) -> None:
    # The suite accepts 202 as a fallback (body ignored) but marks the API unsupported.
    data = os.urandom(512)
    digest = digest_of(data, algo)
    resp = oci.start_upload(
        repo,
        params={"digest": digest},
        data=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    _verify_pushed(oci, repo, resp, data, digest)


def test_post_put_upload_answers_201(oci: OciClient, repo: str, algo: str) -> None:
    data = os.urandom(512)
    digest = digest_of(data, algo)
    resp = oci.finish_upload(_start(oci, repo), digest, data)
    _verify_pushed(oci, repo, resp, data, digest)


def test_chunked_single_chunk_upload_answers_201(
    oci: OciClient, repo: str, algo: str, chunk_size: int
) -> None:
    data = os.urandom(512)
    digest = digest_of(data, algo)
    resp = _chunked(oci, repo, data, digest, chunk=max(chunk_size, len(data)))
    _verify_pushed(oci, repo, resp, data, digest)


def test_chunked_multi_chunk_upload_answers_201(
    oci: OciClient, repo: str, algo: str, chunk_size: int
) -> None:
    data = os.urandom(chunk_size * 3 - 5)
    digest = digest_of(data, algo)
    resp = _chunked(oci, repo, data, digest, chunk=chunk_size)
    _verify_pushed(oci, repo, resp, data, digest)


def test_chunked_upload_with_last_chunk_in_put_answers_201(
    oci: OciClient, repo: str, algo: str, chunk_size: int
) -> None:
    data = os.urandom(chunk_size * 3 - 5)
    digest = digest_of(data, algo)
    resp = _chunked(oci, repo, data, digest, chunk=chunk_size, put_last_chunk=True)
    _verify_pushed(oci, repo, resp, data, digest)


def test_chunked_out_of_order_chunks_answer_416_and_upload_resumes(
    oci: OciClient, repo: str, algo: str, chunk_size: int
) -> None:
    data = os.urandom(chunk_size * 3 - 5)
    digest = digest_of(data, algo)
    resp = _chunked(oci, repo, data, digest, chunk=chunk_size, out_of_order=True)
    _verify_pushed(oci, repo, resp, data, digest)


def test_chunked_out_of_order_chunks_with_last_chunk_in_put_answer_416_and_upload_resumes(
    oci: OciClient, repo: str, algo: str, chunk_size: int
) -> None:
    data = os.urandom(chunk_size * 3 - 5)
    digest = digest_of(data, algo)
    resp = _chunked(
        oci, repo, data, digest, chunk=chunk_size, out_of_order=True, put_last_chunk=True
    )
    _verify_pushed(oci, repo, resp, data, digest)


def test_streamed_upload_answers_201(oci: OciClient, repo: str, algo: str) -> None:
    data = os.urandom(512)
    digest = digest_of(data, algo)
    patch = oci.patch_chunk(_start(oci, repo), data)
    assert patch.status_code == 202, describe(patch)
    resp = oci.finish_upload(oci.upload_url(patch), digest)
    _verify_pushed(oci, repo, resp, data, digest)


def test_mount_from_repository_answers_201(
    oci: OciClient, repo: str, source_repo: str, algo: str
) -> None:
    data = os.urandom(512)
    digest = digest_of(data, algo)
    oci.ensure_blob(source_repo, data, digest)
    resp = oci.start_upload(repo, params={"mount": digest, "from": source_repo})
    _verify_pushed(oci, repo, resp, data, digest)


def test_mount_without_from_falls_back_to_an_upload(
    oci: OciClient, repo: str, source_repo: str, algo: str
) -> None:
    # Automatic content discovery is off by design: a token names the repositories it may
    # read, so the registry cannot prove the caller may read whichever one holds the blob.
    data = os.urandom(512)
    digest = digest_of(data, algo)
    oci.ensure_blob(source_repo, data, digest)
    resp = oci.start_upload(repo, params={"mount": digest})
    assert resp.status_code == 202, describe(resp)
    _verify_pushed(oci, repo, oci.finish_upload(oci.upload_url(resp), digest, data), data, digest)


def test_mount_of_blob_missing_from_source_answers_202_and_upload_completes(
    oci: OciClient, repo: str, source_repo: str, algo: str
) -> None:
    data = os.urandom(512)
    digest = digest_of(data, algo)
    resp = oci.start_upload(repo, params={"mount": digest, "from": source_repo})
    assert resp.status_code == 202, describe(resp)
    assert resp.headers.get("Location"), describe(resp)
    _verify_pushed(oci, repo, oci.finish_upload(oci.upload_url(resp), digest, data), data, digest)


def test_delete_upload_session_answers_204(oci: OciClient, repo: str, algo: str) -> None:
    url = _start(oci, repo)
    patch = oci.patch_chunk(url, os.urandom(64))
    assert patch.status_code == 202, describe(patch)
    url = oci.upload_url(patch)
    resp = oci.request("DELETE", url)
    assert resp.status_code == 204, describe(resp)
    # Not a suite check: the session is gone afterwards (end-13 answers 404).
    gone = oci.request("GET", url)
    assert_oci_error(gone, 404, "BLOB_UPLOAD_UNKNOWN")


def test_delete_blob_answers_202_then_head_answers_404(
    oci: OciClient, repo: str, algo: str
) -> None:
    data = os.urandom(512)
    digest = digest_of(data, algo)
    oci.ensure_blob(repo, data, digest)
    resp = oci.delete_blob(repo, digest)
    assert resp.status_code == 202, describe(resp)
    head = oci.blob(repo, digest, method="HEAD")
    assert head.status_code == 404, describe(head)


# -- range requests -------------------------------------------------------------------------------

RANGE_BLOB_SIZE = 2048
RANGE_CASES = {
    # Range header -> (first byte, last byte) of the expected 206 answer, or None for a 416.
    "bytes=500-1499": (500, 1499),
    "bytes=500-": (500, RANGE_BLOB_SIZE - 1),
    "bytes=-500": (RANGE_BLOB_SIZE - 500, RANGE_BLOB_SIZE - 1),
    "bytes=2000-5000": (2000, RANGE_BLOB_SIZE - 1),
    "bytes=500-0": None,
    "bytes=5000-10000": None,
}


@pytest.fixture(scope="module")
def range_blobs(oci: OciClient, repo: str) -> dict[str, tuple[bytes, str]]:
    blobs = {}
    for algo_name in ALGORITHMS:
        data = os.urandom(RANGE_BLOB_SIZE)
        digest = digest_of(data, algo_name)
        oci.ensure_blob(repo, data, digest)
        blobs[algo_name] = (data, digest)
    return blobs


@pytest.mark.parametrize("byte_range", list(RANGE_CASES))
def test_get_blob_with_range_answers_206(
    oci: OciClient,
    repo: str,
    algo: str,
    range_blobs: dict[str, tuple[bytes, str]],
    byte_range: str,
) -> None:
    data, digest = range_blobs[algo]
    resp = oci.blob(repo, digest, headers={"Range": byte_range})
    expected = RANGE_CASES[byte_range]
    if expected is None:
        assert resp.status_code == 416, describe(resp)
        return
    first, last = expected
    # The suite accepts a plain 200 with the whole blob but fails it as "range unsupported".
    assert resp.status_code == 206, describe(resp)
    assert resp.content == data[first : last + 1], describe(resp)
    assert resp.headers.get("Content-Length") == str(last + 1 - first), describe(resp)
    assert resp.headers.get("Content-Range") in (
        f"bytes {first}-{last}/{len(data)}",
        f"bytes {first}-{last}/*",
    ), describe(resp)


# -- well-known blobs -----------------------------------------------------------------------------

KNOWN_BLOBS = {"empty": b"", "emptyJSON": b"{}"}


@pytest.mark.parametrize("name", list(KNOWN_BLOBS))
def test_known_blob_push_head_get_delete(oci: OciClient, algo: str, name: str) -> None:
    # A fresh repository: these digests are the same everywhere.
    repo = unique_repo("blobs-known")
    data = KNOWN_BLOBS[name]
    digest = digest_of(data, algo)
    resp = oci.push_blob(repo, data, digest)
    _verify_pushed(oci, repo, resp, data, digest)
    deleted = oci.delete_blob(repo, digest)
    assert deleted.status_code == 202, describe(deleted)
    head = oci.blob(repo, digest, method="HEAD")
    assert head.status_code == 404, describe(head)


# -- uploads whose content does not match the digest ----------------------------------------------


def _bad_digest_blob(chunk_size: int, algo: str) -> tuple[bytes, str]:
    """A blob whose bytes end in "oh no" that the digest does not cover."""
    data = os.urandom(chunk_size * 3 - 5)
    return data + b"oh no", digest_of(data, algo)


def _assert_digest_refused(oci: OciClient, repo: str, resp: requests.Response, digest: str) -> None:
    assert_oci_error(resp, 400, "DIGEST_INVALID")
    head = oci.blob(repo, digest, method="HEAD")
    assert head.status_code == 404, describe(head)


def test_post_only_upload_with_wrong_digest_answers_400(
    oci: OciClient, repo: str, algo: str, chunk_size: int
) -> None:
    data, digest = _bad_digest_blob(chunk_size, algo)
    resp = oci.start_upload(
        repo,
        params={"digest": digest},
        data=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    _assert_digest_refused(oci, repo, resp, digest)


def test_post_put_upload_with_wrong_digest_answers_400(
    oci: OciClient, repo: str, algo: str, chunk_size: int
) -> None:
    data, digest = _bad_digest_blob(chunk_size, algo)
    resp = oci.finish_upload(_start(oci, repo), digest, data)
    _assert_digest_refused(oci, repo, resp, digest)


def test_chunked_upload_with_wrong_digest_answers_400(
    oci: OciClient, repo: str, algo: str, chunk_size: int
) -> None:
    data, digest = _bad_digest_blob(chunk_size, algo)
    resp = _chunked(oci, repo, data, digest, chunk=chunk_size)
    _assert_digest_refused(oci, repo, resp, digest)


def test_chunked_upload_with_last_chunk_in_put_and_wrong_digest_answers_400(
    oci: OciClient, repo: str, algo: str, chunk_size: int
) -> None:
    data, digest = _bad_digest_blob(chunk_size, algo)
    resp = _chunked(oci, repo, data, digest, chunk=chunk_size, put_last_chunk=True)
    _assert_digest_refused(oci, repo, resp, digest)


def test_streamed_upload_with_wrong_digest_answers_400(
    oci: OciClient, repo: str, algo: str, chunk_size: int
) -> None:
    data, digest = _bad_digest_blob(chunk_size, algo)
    patch = oci.patch_chunk(_start(oci, repo), data)
    assert patch.status_code == 202, describe(patch)
    resp = oci.finish_upload(oci.upload_url(patch), digest)
    _assert_digest_refused(oci, repo, resp, digest)
