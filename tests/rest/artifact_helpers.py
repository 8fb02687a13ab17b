"""Pushing images and indexes into a project, and naming them in REST API paths."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tests.rest.conftest import Client
from tests.support.oci import OCI_INDEX, PushedImage, descriptor, push_image, sha256
from tests.support.server import admin_http


def repo_path(project: str, repository: str) -> str:
    """The API path of ``project/repository``; the name is encoded twice, as Harbor's."""
    return f"/projects/{project}/repositories/{quote(quote(repository, safe=''), safe='')}"


@dataclass
class PushedIndex:
    digest: str
    manifest: bytes
    children: list[PushedImage]


def push_index(base_url: str, repo: str, tag: str | None = "multi",
               platforms: tuple[str, ...] = ("amd64", "arm64")) -> PushedIndex:
    children = [push_image(base_url, repo, tag=None, seed=f"{repo}-{arch}")
                for arch in platforms]
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            descriptor("application/vnd.oci.image.manifest.v1+json", child.manifest,
                       platform={"architecture": arch, "os": "linux"})
            for child, arch in zip(children, platforms, strict=True)
        ],
    }).encode()
    reference = tag or sha256(manifest)
    response = admin_http.put(f"{base_url}/v2/{repo}/manifests/{reference}", data=manifest,
                              headers={"Content-Type": OCI_INDEX}, timeout=30)
    assert response.status_code == 201, response.text
    return PushedIndex(sha256(manifest), manifest, children)


def pull(base_url: str, repo: str, reference: str) -> None:
    response = admin_http.get(f"{base_url}/v2/{repo}/manifests/{reference}", timeout=30)
    assert response.status_code == 200, response.text


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """``check()``'s first truthy answer (pulls reach the audit log within a second)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def audit(admin: Client, resource_fragment: str) -> list[tuple[str, str, str]]:
    entries = ok(admin.get("/audit-logs", params={"q": f"resource=~{resource_fragment}",
                                                  "page_size": 100}))
    return [(e["operation"], e["resource_type"], e["resource"]) for e in entries]
