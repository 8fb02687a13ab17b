"""Pushing exactly chosen content, for quota, immutability and retention tests."""

from __future__ import annotations

import json
from dataclasses import dataclass

import requests

from tests.rest.conftest import Client
from tests.support.oci import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, descriptor, sha256
from tests.support.server import admin_http


@dataclass
class Image:
    config: bytes
    layers: list[bytes]
    manifest: bytes

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    @property
    def size(self) -> int:
        return len(self.config) + sum(map(len, self.layers)) + len(self.manifest)


def image(seed: str, layer_bytes: int = 2000, layers: list[bytes] | None = None) -> Image:
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
    chosen = layers if layers is not None else [
        (f"{seed}-layer-{i}-".encode() * layer_bytes)[:layer_bytes] for i in range(2)]
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config),
        "layers": [descriptor(OCI_LAYER, layer) for layer in chosen],
    }).encode()
    return Image(config, chosen, manifest)


def upload(base_url: str, repo: str, data: bytes) -> requests.Response:
    return admin_http.post(f"{base_url}/v2/{repo}/blobs/uploads/",
                           params={"digest": sha256(data)}, data=data, timeout=30)


def put_manifest(base_url: str, repo: str, reference: str, img: Image) -> requests.Response:
    return admin_http.put(f"{base_url}/v2/{repo}/manifests/{reference}", data=img.manifest,
                          headers={"Content-Type": OCI_MANIFEST}, timeout=30)


def push(base_url: str, repo: str, tag: str, img: Image) -> None:
    for blob in [img.config, *img.layers]:
        response = upload(base_url, repo, blob)
        assert response.status_code == 201, response.text
    response = put_manifest(base_url, repo, tag, img)
    assert response.status_code == 201, response.text


def project_id(admin: Client, project: str) -> int:
    return int(admin.get(f"/projects/{project}").json()["project_id"])


def quota_of(admin: Client, project: str) -> dict:
    response = admin.get("/quotas", params={"reference": "project",
                                            "reference_id": str(project_id(admin, project))})
    assert response.status_code == 200, response.text
    (found,) = response.json()
    return found


def used(admin: Client, project: str) -> int:
    return int(quota_of(admin, project)["used"]["storage"])


def set_hard(admin: Client, project: str, hard: int) -> None:
    quota_id = quota_of(admin, project)["id"]
    response = admin.put(f"/quotas/{quota_id}", json={"hard": {"storage": hard}})
    assert response.status_code == 200, response.text


def registry_error(response: requests.Response) -> tuple[str, str]:
    error = response.json()["errors"][0]
    return error["code"], error["message"]
