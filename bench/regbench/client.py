"""The registry HTTP operations we time, on http.client with bodies sent by sendfile."""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

from .payload import Blob

HOST = "127.0.0.1"
TIMEOUT = 600.0
OCTETS = "application/octet-stream"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_ACCEPT = f"{OCI_MANIFEST}, {DOCKER_MANIFEST}"


class ProtocolError(RuntimeError):
    """The registry answered something the OCI Distribution spec does not allow here."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


# port -> (user, password) for servers that want Docker token auth (ours with --ours-auth)
CREDENTIALS: dict[int, tuple[str, str]] = {}
_TOKENS: dict[tuple[int, str], str] = {}
_REPOSITORY = re.compile(r"^/v2/(.+?)/(?:blobs|manifests|tags|referrers)/")


def auth_headers(port: int, repository: str) -> dict[str, str]:
    """A Bearer header for `repository` on a server with credentials, else nothing.

    Tokens are fetched once per repository, as docker does at the start of a push or pull.
    """
    if port not in CREDENTIALS:
        return {}
    key = (port, repository)
    if key not in _TOKENS:
        user, password = CREDENTIALS[port]
        query = urllib.parse.urlencode(
            {"service": "harbor-registry", "scope": f"repository:{repository}:pull,push"}
        )
        conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        conn.request("GET", f"/service/token?{query}", headers={"Authorization": f"Basic {basic}"})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        if response.status != 200:
            raise ProtocolError(f"token request answered {response.status}: {body[:200]!r}")
        _TOKENS[key] = json.loads(body)["token"]
    return {"Authorization": f"Bearer {_TOKENS[key]}"}


def connect(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)


def _send_head(
    conn: http.client.HTTPConnection, method: str, target: str, headers: dict[str, str]
) -> socket.socket:
    conn.putrequest(method, target, skip_accept_encoding=True)
    repository = _REPOSITORY.match(target.split("?", 1)[0])
    if repository:
        headers = {**headers, **auth_headers(conn.port, repository.group(1))}
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.endheaders()
    if conn.sock is None:
        raise ProtocolError("connection closed while sending headers")
    return conn.sock


def _finish(conn: http.client.HTTPConnection) -> Reply:
    response = conn.getresponse()
    body = response.read()
    return Reply(status=response.status, headers=response.headers, body=body)


def request(
    conn: http.client.HTTPConnection,
    method: str,
    target: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> Reply:
    """A request with a small in-memory body."""
    sent = dict(headers or {})
    if body or method in ("PUT", "POST", "PATCH"):
        sent["Content-Length"] = str(len(body))
    sock = _send_head(conn, method, target, sent)
    if body:
        sock.sendall(body)
    return _finish(conn)


def expect(reply: Reply, status: int, what: str) -> Reply:
    if reply.status != status:
        snippet = reply.body[:300].decode(errors="replace")
        raise ProtocolError(f"{what}: expected {status}, got {reply.status}: {snippet}")
    return reply


def target_of(location: str) -> str:
    """The request target (path and query) of a Location header, absolute or not."""
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def with_digest(target: str, digest: str) -> str:
    return f"{target}{'&' if '?' in target else '?'}digest={digest}"


def _location(reply: Reply, what: str) -> str:
    location = reply.header("Location")
    if not location:
        raise ProtocolError(f"{what}: no Location header")
    return target_of(location)


def _check_digest(reply: Reply, blob_digest: str, what: str) -> None:
    got = reply.header("Docker-Content-Digest")
    if got and got != blob_digest:
        raise ProtocolError(f"{what}: registry says {got}, we sent {blob_digest}")


def _pieces(blob: Blob, file: BinaryIO, start: int, end: int, size: int) -> Iterator[bytes]:
    """Bytes [start, end) of the blob, read from the file in pieces of at most `size`."""
    file.seek(start)
    position = start
    file_end = min(end, blob.payload.size)
    while position < file_end:
        data = file.read(min(size, file_end - position))
        if not data:
            raise ProtocolError(f"{file.name} is shorter than expected")
        position += len(data)
        yield data
    if end > blob.payload.size:
        yield blob.suffix[max(start - blob.payload.size, 0) : end - blob.payload.size]


def _send_range(sock: socket.socket, blob: Blob, file: BinaryIO, start: int, end: int) -> None:
    """Bytes [start, end) of the blob: the file part by sendfile, the suffix by sendall."""
    file_end = min(end, blob.payload.size)
    if start < file_end:
        sock.sendfile(file, offset=start, count=file_end - start)
    if end > blob.payload.size:
        sock.sendall(blob.suffix[max(start - blob.payload.size, 0) : end - blob.payload.size])


def _send_vector(sock: socket.socket, parts: list[bytes]) -> None:
    """sendall for several buffers without joining them (a partial send is resumed)."""
    views = [memoryview(part) for part in parts if part]
    while views:
        sent = sock.sendmsg(views)
        while views and sent >= len(views[0]):
            sent -= len(views[0])
            views.pop(0)
        if views and sent:
            views[0] = views[0][sent:]


def _send_chunked(sock: socket.socket, blob: Blob, file: BinaryIO, chunk: int) -> None:
    """The whole blob in Transfer-Encoding: chunked, one write per chunk (as Go's client).

    Header, data and trailer go out in one sendmsg, so the client does not copy each chunk
    (a copy per chunk made this client, not the servers, the bottleneck).
    """
    for data in _pieces(blob, file, 0, blob.size, chunk):
        _send_vector(sock, [b"%x\r\n" % len(data), data, b"\r\n"])
    sock.sendall(b"0\r\n\r\n")


def _body_request(
    conn: http.client.HTTPConnection,
    method: str,
    target: str,
    headers: dict[str, str],
    send: Callable[[socket.socket], None],
) -> Reply:
    """Send headers, then the body through `send(sock)`; an early answer explains a reset."""
    sock = _send_head(conn, method, target, headers)
    try:
        send(sock)
    except OSError as error:
        try:
            reply = _finish(conn)
        except (OSError, http.client.HTTPException):
            raise ProtocolError(f"{method} {target}: {error}") from error
        raise ProtocolError(f"{method} {target}: {error}; answered {reply.status}") from error
    return _finish(conn)


def start_upload(conn: http.client.HTTPConnection, repo: str) -> str:
    reply = request(conn, "POST", f"/v2/{repo}/blobs/uploads/")
    return _location(expect(reply, 202, "POST upload"), "POST upload")


def push_monolithic(conn: http.client.HTTPConnection, repo: str, blob: Blob) -> None:
    """POST, then one PUT ?digest= carrying the whole blob."""
    target = with_digest(start_upload(conn, repo), blob.digest)
    headers = {"Content-Type": OCTETS, "Content-Length": str(blob.size)}
    with blob.payload.path.open("rb") as file:
        reply = _body_request(
            conn, "PUT", target, headers, lambda sock: _send_range(sock, blob, file, 0, blob.size)
        )
    _check_digest(expect(reply, 201, "monolithic PUT"), blob.digest, "monolithic PUT")


def _patch_range(
    conn: http.client.HTTPConnection, target: str, blob: Blob, file: BinaryIO, start: int, end: int
) -> str:
    headers = {
        "Content-Type": OCTETS,
        "Content-Range": f"{start}-{end - 1}",
        "Content-Length": str(end - start),
    }
    reply = _body_request(
        conn, "PATCH", target, headers, lambda sock: _send_range(sock, blob, file, start, end)
    )
    return _location(expect(reply, 202, f"PATCH {start}-{end - 1}"), "PATCH")


def _close_upload(conn: http.client.HTTPConnection, target: str, blob: Blob) -> None:
    reply = request(conn, "PUT", with_digest(target, blob.digest), {"Content-Type": OCTETS})
    _check_digest(expect(reply, 201, "closing PUT"), blob.digest, "closing PUT")


def push_chunked(conn: http.client.HTTPConnection, repo: str, blob: Blob, chunk: int) -> None:
    """POST, PATCHes with Content-Range and Content-Length, then an empty PUT ?digest=."""
    target = start_upload(conn, repo)
    with blob.payload.path.open("rb") as file:
        for start in range(0, blob.size, chunk):
            target = _patch_range(conn, target, blob, file, start, min(start + chunk, blob.size))
    _close_upload(conn, target, blob)


def push_streamed(conn: http.client.HTTPConnection, repo: str, blob: Blob, chunk: int) -> None:
    """The docker daemon's way: POST, one PATCH in chunked encoding, then an empty PUT."""
    target = start_upload(conn, repo)
    headers = {"Content-Type": OCTETS, "Transfer-Encoding": "chunked"}
    with blob.payload.path.open("rb") as file:
        reply = _body_request(
            conn, "PATCH", target, headers, lambda sock: _send_chunked(sock, blob, file, chunk)
        )
    _close_upload(conn, _location(expect(reply, 202, "chunked PATCH"), "PATCH"), blob)


def push_bytes(conn: http.client.HTTPConnection, repo: str, data: bytes, digest: str) -> None:
    """A small blob from memory, monolithic."""
    target = with_digest(start_upload(conn, repo), digest)
    reply = request(conn, "PUT", target, {"Content-Type": OCTETS}, data)
    _check_digest(expect(reply, 201, "small blob PUT"), digest, "small blob PUT")


def pull(conn: http.client.HTTPConnection, repo: str, digest: str, buffer_size: int) -> int:
    """GET the blob, read it into one reused buffer, and return how many bytes came."""
    conn.request("GET", f"/v2/{repo}/blobs/{digest}", headers=auth_headers(conn.port, repo))
    response = conn.getresponse()
    if response.status != 200:
        body = response.read()[:300].decode(errors="replace")
        raise ProtocolError(f"GET blob: expected 200, got {response.status}: {body}")
    view = memoryview(bytearray(buffer_size))
    total = 0
    while count := response.readinto(view):
        total += count
    return total


def fetch(conn: http.client.HTTPConnection, repo: str, digest: str) -> bytes:
    """A small blob's content, for checking what a registry stored."""
    conn.request("GET", f"/v2/{repo}/blobs/{digest}", headers=auth_headers(conn.port, repo))
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise ProtocolError(f"GET blob: expected 200, got {response.status}")
    return body


def image_manifest(config: tuple[bytes, str], layer: tuple[bytes, str]) -> bytes:
    """An OCI image manifest for one config and one layer."""
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config[1], "size": len(config[0])},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer[1], "size": len(layer[0])}],
    }
    return json.dumps(document, indent=3).encode()


def put_manifest(conn: http.client.HTTPConnection, repo: str, tag: str, body: bytes) -> str:
    """PUT the manifest under `tag` and return the digest the registry gave it."""
    target = f"/v2/{repo}/manifests/{tag}"
    reply = expect(request(conn, "PUT", target, {"Content-Type": OCI_MANIFEST}, body), 201, target)
    return reply.header("Docker-Content-Digest")


def get_manifest(conn: http.client.HTTPConnection, repo: str, tag: str) -> Reply:
    headers = {"Accept": MANIFEST_ACCEPT}
    return request(conn, "GET", f"/v2/{repo}/manifests/{tag}", headers)
