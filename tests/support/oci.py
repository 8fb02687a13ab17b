"""Small helpers to push blobs and manifests with plain HTTP in API tests."""

from __future__ import annotations

import hashlib
import http.client
import json
import uuid
from dataclasses import dataclass
from typing import Any

from tests.support.server import admin_http, server_for

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha512(data: bytes) -> str:
    return "sha512:" + hashlib.sha512(data).hexdigest()


def unique_repo(prefix: str) -> str:
    """A fresh repository in the public ``library`` project (every test server has it)."""
    return f"library/{prefix}/r{uuid.uuid4().hex[:10]}"


def push_blob(base_url: str, repo: str, data: bytes, digest: str | None = None) -> str:
    digest = digest or sha256(data)
    response = admin_http.post(
        f"{base_url}/v2/{repo}/blobs/uploads/", params={"digest": digest}, data=data, timeout=30
    )
    assert response.status_code == 201, response.text
    return digest


def descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


@dataclass
class PushedImage:
    repo: str
    manifest: bytes
    digest: str
    config: bytes
    layers: list[bytes]


def push_image(base_url: str, repo: str, tag: str | None = "latest", seed: str = "",
               media_type: str = OCI_MANIFEST) -> PushedImage:
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed or repo}).encode()
    layers = [f"layer-{i}-{seed}-{repo}".encode() * 100 for i in range(2)]
    for blob in [config, *layers]:
        push_blob(base_url, repo, blob)
    config_type = OCI_CONFIG if media_type == OCI_MANIFEST else (
        "application/vnd.docker.container.image.v1+json")
    layer_type = OCI_LAYER if media_type == OCI_MANIFEST else (
        "application/vnd.docker.image.rootfs.diff.tar.gzip")
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": descriptor(config_type, config),
        "layers": [descriptor(layer_type, layer) for layer in layers],
    }).encode()
    reference = tag or sha256(manifest)
    response = admin_http.put(
        f"{base_url}/v2/{repo}/manifests/{reference}", data=manifest,
        headers={"Content-Type": media_type}, timeout=30,
    )
    assert response.status_code == 201, response.text
    return PushedImage(repo, manifest, sha256(manifest), config, layers)


def raw_request(
    host: str, method: str, path: str, headers: dict[str, str] | None = None,
    body: bytes | None = None, timeout: float = 10, authenticate: bool = True,
) -> tuple[int, dict[str, str], bytes]:
    """Send a request with the path exactly as given (no normalisation or quoting)."""
    headers = dict(headers or {})
    server = server_for(host)
    if server is not None and authenticate and not path.startswith("/service"):
        bare, _, query = path.partition("?")
        headers.update(server.auth.header_for(bare, query))
    address, port = host.rsplit(":", 1)
    connection = http.client.HTTPConnection(address, int(port), timeout=timeout)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        if body is not None and not any(k.lower() == "content-length" for k in headers or {}):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def error_code(body: bytes) -> str:
    return json.loads(body)["errors"][0]["code"]
