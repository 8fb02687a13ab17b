"""A corpus of malformed requests: each gets the spec's status and error code, never a 500.

Requests go out over raw sockets with the path exactly as written, so traversal attempts
and percent-encoded tricks reach the server unnormalised.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from tests.support.oci import (
    OCI_INDEX,
    OCI_MANIFEST,
    descriptor,
    error_code,
    push_blob,
    push_image,
    raw_request,
    sha256,
)
from tests.support.server import admin_http

GOOD = "sha256:" + "a" * 64
REPO = "library/malformed"
OCI = {"Content-Type": OCI_MANIFEST}


def _manifest(**fields: object) -> bytes:
    return json.dumps(fields).encode()


@pytest.fixture(scope="module")
def image(registry):
    return push_image(registry.url, REPO, "present")


@pytest.fixture(scope="module")
def blob_digest(registry, image):
    return sha256(image.layers[0])


def _auth_line(registry, path: str) -> str:
    return "".join(f"{k}: {v}\r\n" for k, v in registry.auth_header(path).items())


def _upload(registry) -> str:
    response = admin_http.post(f"{registry.url}/v2/{REPO}/blobs/uploads/", timeout=10)
    assert response.status_code == 202
    return response.headers["Location"]


# (method, path, headers, body, status, code)
CORPUS = [
    # names
    ("GET", "/v2/../etc/passwd/manifests/latest", {}, None, 400, "NAME_INVALID"),
    ("GET", "/v2/a/../../etc/tags/list", {}, None, 400, "NAME_INVALID"),
    ("GET", "/v2/a%2F..%2Fb/manifests/latest", {}, None, 400, "NAME_INVALID"),
    ("GET", "/v2/a%2e%2e/tags/list", {}, None, 400, "NAME_INVALID"),
    ("GET", "/v2/UPPER/tags/list", {}, None, 400, "NAME_INVALID"),
    ("GET", "/v2/a//b/tags/list", {}, None, 400, "NAME_INVALID"),
    ("GET", "/v2/-a/tags/list", {}, None, 400, "NAME_INVALID"),
    ("GET", "/v2/a_/tags/list", {}, None, 400, "NAME_INVALID"),
    ("GET", "/v2/" + "a" * 256 + "/tags/list", {}, None, 400, "NAME_INVALID"),
    ("POST", "/v2/Bad%20Name/blobs/uploads/", {}, b"", 400, "NAME_INVALID"),
    ("POST", "/v2/bad%00name/blobs/uploads/", {}, b"", 400, "NAME_INVALID"),
    # digests
    ("GET", f"/v2/{REPO}/blobs/sha256:abc", {}, None, 400, "DIGEST_INVALID"),
    ("GET", f"/v2/{REPO}/blobs/sha256:" + "A" * 64, {}, None, 400, "DIGEST_INVALID"),
    ("GET", f"/v2/{REPO}/blobs/sha256:" + "a" * 65, {}, None, 400, "DIGEST_INVALID"),
    ("GET", f"/v2/{REPO}/blobs/md5:" + "a" * 32, {}, None, 400, "DIGEST_INVALID"),
    ("GET", f"/v2/{REPO}/blobs/sha384:" + "a" * 96, {}, None, 400, "DIGEST_INVALID"),
    ("GET", f"/v2/{REPO}/blobs/sha256%3A" + "a" * 64, {}, None, 400, "DIGEST_INVALID"),
    ("GET", f"/v2/{REPO}/blobs/sha256:..%2F..%2Fetc", {}, None, 400, "DIGEST_INVALID"),
    ("HEAD", f"/v2/{REPO}/blobs/not-a-digest", {}, None, 400, None),
    ("DELETE", f"/v2/{REPO}/blobs/sha256:zz", {}, None, 400, "DIGEST_INVALID"),
    ("GET", f"/v2/{REPO}/manifests/sha256:xyz", {}, None, 400, "DIGEST_INVALID"),
    ("GET", f"/v2/{REPO}/referrers/sha256:xyz", {}, None, 400, "DIGEST_INVALID"),
    ("GET", f"/v2/{REPO}/referrers/latest", {}, None, 400, "DIGEST_INVALID"),
    ("POST", f"/v2/{REPO}/blobs/uploads/?digest=sha256:nothex", {}, b"x", 400, "DIGEST_INVALID"),
    ("POST", f"/v2/{REPO}/blobs/uploads/?digest=" + GOOD, {}, b"other", 400, "DIGEST_INVALID"),
    ("POST", f"/v2/{REPO}/blobs/uploads/?mount=bogus&from=x", {}, b"", 400, "DIGEST_INVALID"),
    # tags and references
    ("PUT", f"/v2/{REPO}/manifests/bad!tag", OCI, b"{}", 400, "MANIFEST_INVALID"),
    ("PUT", f"/v2/{REPO}/manifests/" + "t" * 129, OCI, b"{}", 400, "MANIFEST_INVALID"),
    ("GET", f"/v2/{REPO}/manifests/.hidden", {}, None, 404, "MANIFEST_UNKNOWN"),
    ("HEAD", f"/v2/{REPO}/manifests/-dash", {}, None, 404, None),
    ("DELETE", f"/v2/{REPO}/manifests/" + "t" * 129, {}, None, 404, "MANIFEST_UNKNOWN"),
    ("GET", f"/v2/{REPO}/manifests/..%2F..", {}, None, 404, "MANIFEST_UNKNOWN"),
    # unknown things
    ("GET", "/v2/library/nothing-here/tags/list", {}, None, 404, "NAME_UNKNOWN"),
    ("GET", "/v2/noproject/repo/tags/list", {}, None, 401, "UNAUTHORIZED"),
    ("POST", "/v2/noproject/repo/blobs/uploads/", {}, b"", 401, "UNAUTHORIZED"),
    ("GET", "/v2/rootlevel/tags/list", {}, None, 401, "UNAUTHORIZED"),
    ("GET", f"/v2/{REPO}/manifests/missing", {}, None, 404, "MANIFEST_UNKNOWN"),
    ("GET", f"/v2/{REPO}/manifests/{GOOD}", {}, None, 404, "MANIFEST_UNKNOWN"),
    ("DELETE", f"/v2/{REPO}/manifests/{GOOD}", {}, None, 404, "MANIFEST_UNKNOWN"),
    ("DELETE", f"/v2/{REPO}/manifests/missing", {}, None, 404, "MANIFEST_UNKNOWN"),
    ("GET", f"/v2/{REPO}/blobs/{GOOD}", {}, None, 404, "BLOB_UNKNOWN"),
    ("DELETE", f"/v2/{REPO}/blobs/{GOOD}", {}, None, 404, "BLOB_UNKNOWN"),
    # uploads
    ("GET", f"/v2/{REPO}/blobs/uploads/not-a-uuid", {}, None, 404, "BLOB_UPLOAD_UNKNOWN"),
    ("PATCH", f"/v2/{REPO}/blobs/uploads/..%2F..%2Fetc", {}, b"x", 404, "BLOB_UPLOAD_UNKNOWN"),
    ("PATCH", f"/v2/{REPO}/blobs/uploads/00000000-0000-4000-8000-000000000000", {}, b"x", 404,
     "BLOB_UPLOAD_UNKNOWN"),
    ("PUT", f"/v2/{REPO}/blobs/uploads/00000000-0000-4000-8000-000000000000?digest={GOOD}",
     {}, b"", 404, "BLOB_UPLOAD_UNKNOWN"),
    ("DELETE", f"/v2/{REPO}/blobs/uploads/00000000-0000-4000-8000-000000000000", {}, None, 404,
     "BLOB_UPLOAD_UNKNOWN"),
    # manifests
    ("PUT", f"/v2/{REPO}/manifests/t", OCI, b"{not json", 400, "MANIFEST_INVALID"),
    ("PUT", f"/v2/{REPO}/manifests/t", OCI, b"[1, 2]", 400, "MANIFEST_INVALID"),
    ("PUT", f"/v2/{REPO}/manifests/t", OCI, b"\xff\xfe", 400, "MANIFEST_INVALID"),
    ("PUT", f"/v2/{REPO}/manifests/t", OCI, b"", 400, "MANIFEST_INVALID"),
    ("PUT", f"/v2/{REPO}/manifests/t", OCI, _manifest(schemaVersion=1), 400, "MANIFEST_INVALID"),
    ("PUT", f"/v2/{REPO}/manifests/t", {"Content-Type": "text/plain"},
     _manifest(schemaVersion=2, config={}, layers=[]), 400, "MANIFEST_INVALID"),
    ("PUT", f"/v2/{REPO}/manifests/t", {"Content-Type": OCI_INDEX},
     _manifest(schemaVersion=2, mediaType=OCI_MANIFEST, layers=[]), 400, "MANIFEST_INVALID"),
    ("PUT", f"/v2/{REPO}/manifests/t", OCI,
     _manifest(schemaVersion=2, mediaType=OCI_MANIFEST, layers=[]), 400, "MANIFEST_INVALID"),
    ("PUT", f"/v2/{REPO}/manifests/t", OCI,
     _manifest(schemaVersion=2, config={"mediaType": "x", "digest": "sha256:1", "size": 1},
               layers=[]), 400, "MANIFEST_INVALID"),
    ("PUT", f"/v2/{REPO}/manifests/t", OCI,
     _manifest(schemaVersion=2, config={"mediaType": "x", "digest": GOOD, "size": -1},
               layers=[]), 400, "MANIFEST_INVALID"),
    ("PUT", f"/v2/{REPO}/manifests/t", OCI,
     _manifest(schemaVersion=2, config={"mediaType": "x", "digest": GOOD, "size": 1},
               layers="nope"), 400, "MANIFEST_INVALID"),
    ("PUT", f"/v2/{REPO}/manifests/t", OCI,
     _manifest(schemaVersion=2, config={"mediaType": "x", "digest": GOOD, "size": 1},
               layers=[], annotations={"a": 1}), 400, "MANIFEST_INVALID"),
    ("PUT", f"/v2/{REPO}/manifests/t", {"Content-Type": OCI_INDEX},
     _manifest(schemaVersion=2, manifests=[{"mediaType": OCI_MANIFEST}]), 400,
     "MANIFEST_INVALID"),
    ("PUT", f"/v2/{REPO}/manifests/t",
     {"Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws"},
     _manifest(schemaVersion=1, name="x", tag="t", fsLayers=[]), 400, "MANIFEST_INVALID"),
    ("PUT", f"/v2/{REPO}/manifests/t", OCI,
     _manifest(schemaVersion=2, config={"mediaType": "x", "digest": GOOD, "size": 1},
               layers=[]), 400, "MANIFEST_BLOB_UNKNOWN"),
    ("PUT", f"/v2/{REPO}/manifests/t", {"Content-Type": OCI_INDEX},
     _manifest(schemaVersion=2, manifests=[
         {"mediaType": OCI_MANIFEST, "digest": GOOD, "size": 10}]), 400,
     "MANIFEST_BLOB_UNKNOWN"),
    ("PUT", f"/v2/{REPO}/manifests/{GOOD}", OCI, _manifest(schemaVersion=2), 400, None),
    # listing
    ("GET", f"/v2/{REPO}/tags/list?n=abc", {}, None, 400, "UNSUPPORTED"),
    ("GET", f"/v2/{REPO}/tags/list?n=-1", {}, None, 400, "UNSUPPORTED"),
    ("GET", "/v2/_catalog?n=1e9", {}, None, 400, "UNSUPPORTED"),
    # methods and paths
    ("POST", f"/v2/{REPO}/manifests/latest", {}, b"", 405, "UNSUPPORTED"),
    ("PUT", f"/v2/{REPO}/tags/list", {}, b"", 405, "UNSUPPORTED"),
    ("PATCH", "/v2/", {}, b"", 405, "UNSUPPORTED"),
    ("GET", "/v2/nothing-here", {}, None, 404, "UNSUPPORTED"),
    ("GET", "/v2/a/blobs/sha256:../../x", {}, None, 404, "UNSUPPORTED"),
    ("GET", "/v2/%C3%A9/tags/list", {}, None, 400, "NAME_INVALID"),
]


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "code"),
    CORPUS,
    ids=[f"{c[0]} {c[1][:60]} -> {c[4]}" for c in CORPUS],
)
def test_malformed_request_gets_spec_error(registry, image, method, path, headers, body,
                                           status, code):
    got_status, got_headers, got_body = raw_request(registry.host, method, path, headers, body)
    assert got_status == status, got_body[:300]
    assert got_headers.get("docker-distribution-api-version") == "registry/2.0"
    if code is not None and method != "HEAD":
        assert error_code(got_body) == code


def test_digest_mismatch_on_digest_reference_is_refused(registry, image):
    other = "sha256:" + "b" * 64
    status, _, body = raw_request(registry.host, "PUT", f"/v2/{REPO}/manifests/{other}",
                                  OCI, image.manifest)
    assert status == 400
    assert error_code(body) == "DIGEST_INVALID"


@pytest.mark.parametrize("header", ["bytes=10-5", "bytes=abc", "bytes=999999999-",
                                    "bytes=-0", "bytes=-", "bytes=5-x"])
def test_bad_or_unsatisfiable_range_answers_416(registry, image, blob_digest, header):
    status, headers, body = raw_request(
        registry.host, "GET", f"/v2/{REPO}/blobs/{blob_digest}", {"Range": header})
    assert status == 416
    assert headers["content-range"] == f"bytes */{len(image.layers[0])}"
    assert error_code(body) == "SIZE_INVALID"


@pytest.mark.parametrize(
    ("content_range", "body", "reason"),
    [
        ("garbage", b"12345", "malformed"),
        ("5-9", b"12345", "gap before the chunk"),
        ("0-9", b"12345", "length differs from range"),
        ("4-0", b"12345", "reversed"),
        ("-1-3", b"12345", "negative"),
    ],
)
def test_bad_content_range_answers_416_and_keeps_the_upload(registry, content_range, body,
                                                            reason):
    location = _upload(registry)
    status, headers, got = raw_request(registry.host, "PATCH", location,
                                       {"Content-Range": content_range}, body)
    assert status == 416, reason
    assert error_code(got) == "BLOB_UPLOAD_INVALID"
    assert headers["range"] == "0-0"
    state = admin_http.get(registry.url + location, timeout=10)
    assert state.status_code == 204
    assert state.headers["Range"] == "0-0"


def test_overlapping_chunk_answers_416(registry):
    location = _upload(registry)
    first = admin_http.patch(registry.url + location, data=b"0123456789",
                           headers={"Content-Range": "0-9"}, timeout=10)
    assert first.status_code == 202
    overlap = admin_http.patch(registry.url + location, data=b"89abc",
                             headers={"Content-Range": "8-12"}, timeout=10)
    assert overlap.status_code == 416
    assert overlap.headers["Range"] == "0-9"


def test_wrong_digest_on_completion_keeps_the_upload(registry):
    location = _upload(registry)
    data = b"some bytes"
    wrong = admin_http.put(registry.url + location, params={"digest": GOOD}, data=data,
                         timeout=10)
    assert wrong.status_code == 400
    assert error_code(wrong.content) == "DIGEST_INVALID"
    right = admin_http.put(registry.url + location, params={"digest": sha256(data)}, timeout=10)
    assert right.status_code == 201, right.text


def test_completion_without_digest_is_refused(registry):
    location = _upload(registry)
    response = admin_http.put(registry.url + location, data=b"abc", timeout=10)
    assert response.status_code == 400
    assert error_code(response.content) == "DIGEST_INVALID"


def test_oversized_manifest_with_length_answers_413(registry):
    body = b"{" + b" " * (4 * 1024 * 1024 + 10) + b"}"
    status, _, got = raw_request(registry.host, "PUT", f"/v2/{REPO}/manifests/big", OCI, body)
    assert status == 413
    assert error_code(got) == "SIZE_INVALID"


def test_oversized_chunked_manifest_answers_413(registry):
    def chunks():
        for _ in range(5):
            yield b" " * (1024 * 1024)

    response = admin_http.put(f"{registry.url}/v2/{REPO}/manifests/big", data=chunks(),
                            headers=OCI, timeout=30)
    assert response.status_code == 413
    assert error_code(response.content) == "SIZE_INVALID"


def test_truncated_upload_body_keeps_what_arrived_and_server_stays_healthy(registry):
    location = _upload(registry)
    address, port = registry.host.rsplit(":", 1)
    with socket.create_connection((address, int(port)), timeout=10) as sock:
        sock.sendall(
            f"PATCH {location} HTTP/1.1\r\nHost: {registry.host}\r\n"
            f"{_auth_line(registry, location)}Content-Length: 1000\r\n\r\n".encode()
            + b"x" * 400
        )
        time.sleep(0.3)
    deadline = time.monotonic() + 5
    while True:
        state = admin_http.get(registry.url + location, timeout=10)
        if state.headers.get("Range") == "0-399" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert state.status_code == 204
    assert state.headers["Range"] == "0-399"
    rest = b"y" * 100
    done = admin_http.put(registry.url + location, params={"digest": sha256(b"x" * 400 + rest)},
                        data=rest, timeout=10)
    assert done.status_code == 201, done.text


def test_non_ascii_bytes_in_the_request_line_are_refused(registry):
    address, port = registry.host.rsplit(":", 1)
    with socket.create_connection((address, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /v2/\xc3\xa9/tags/list HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400")  # twisted.web refuses the request line
    assert admin_http.get(registry.url + "/v2/", timeout=10).status_code == 200


def test_tls_handshake_on_the_plain_port_is_closed_at_once(registry):
    # The docker daemon tries HTTPS first; it must fail fast so it falls back to HTTP.
    address, port = registry.host.rsplit(":", 1)
    with socket.create_connection((address, int(port)), timeout=5) as sock:
        sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40)
        started = time.monotonic()
        answer = sock.recv(4096)
        while answer and sock.recv(4096):
            pass
    assert time.monotonic() - started < 2
    assert not answer.startswith(b"\x16")


def test_malformed_chunked_encoding_is_refused_without_harm(registry):
    location = _upload(registry)
    address, port = registry.host.rsplit(":", 1)
    with socket.create_connection((address, int(port)), timeout=10) as sock:
        sock.sendall(
            f"PATCH {location} HTTP/1.1\r\nHost: {registry.host}\r\n"
            f"{_auth_line(registry, location)}"
            "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n".encode()
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400")
    assert admin_http.get(registry.url + "/v2/", timeout=10).status_code == 200


def test_concurrent_writer_to_same_upload_is_refused(registry):
    location = _upload(registry)
    address, port = registry.host.rsplit(":", 1)
    with socket.create_connection((address, int(port)), timeout=10) as sock:
        sock.sendall(
            f"PATCH {location} HTTP/1.1\r\nHost: {registry.host}\r\n"
            f"{_auth_line(registry, location)}Content-Length: 100\r\n\r\n".encode()
            + b"a" * 10
        )
        time.sleep(0.3)
        second = admin_http.patch(registry.url + location, data=b"b" * 10, timeout=10)
        assert second.status_code == 409
        assert error_code(second.content) == "BLOB_UPLOAD_INVALID"
        sock.sendall(b"a" * 90)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 202")


def test_no_request_in_the_corpus_logged_a_traceback(registry, image):
    # Runs after the corpus in this module: nothing may have hit the 500 path.
    push_blob(registry.url, REPO, b"still working")
    log = registry.log_text()
    assert "Traceback" not in log
    assert "unexpected error" not in log


def test_foreign_layers_need_not_be_uploaded(registry):
    config = b'{"os":"windows"}'
    push_blob(registry.url, REPO, config)
    manifest = _manifest(
        schemaVersion=2,
        mediaType="application/vnd.docker.distribution.manifest.v2+json",
        config=descriptor("application/vnd.docker.container.image.v1+json", config),
        layers=[{
            "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            "digest": GOOD, "size": 5, "urls": ["https://example.invalid/layer"],
        }],
    )
    response = admin_http.put(
        f"{registry.url}/v2/{REPO}/manifests/foreign", data=manifest,
        headers={"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
