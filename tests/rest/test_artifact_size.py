"""An artifact's size is Harbor's total (manifest, config, layers, an index's children), and
``sort=size`` orders by that same total, kept as a column through pushes and deletes."""

from __future__ import annotations

import json

import pytest

from tests.rest.artifact_helpers import ok, push_index, repo_path
from tests.rest.conftest import create_project
from tests.support.oci import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, descriptor, push_blob, sha256
from tests.support.server import admin_http


@pytest.fixture
def project(admin):
    return create_project(admin)


def _push(base_url: str, repo: str, layers: list[bytes], tag: str) -> tuple[str, int]:
    """An image of these layers; its digest and Harbor's size for it."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "tag": tag}).encode()
    for blob in [config, *layers]:
        push_blob(base_url, repo, blob)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config),
        "layers": [descriptor(OCI_LAYER, layer) for layer in layers],
    }).encode()
    response = admin_http.put(f"{base_url}/v2/{repo}/manifests/{tag}", data=manifest,
                              headers={"Content-Type": OCI_MANIFEST}, timeout=30)
    assert response.status_code == 201, response.text
    return sha256(manifest), len(manifest) + len(config) + sum(map(len, layers))


def test_sort_by_size_follows_the_size_shown_not_the_manifest_bytes(registry, admin, project):
    repo = f"{project}/sized"
    # one large layer: the smallest manifest, the largest artifact
    heavy = _push(registry.url, repo, [b"h" * 200_000], "heavy")
    # many small layers: the largest manifest, a small artifact
    wide = _push(registry.url, repo, [f"w{i}".encode() * 10 for i in range(30)], "wide")
    light = _push(registry.url, repo, [b"l" * 20_000], "light")
    listed = ok(admin.get(f"{repo_path(project, 'sized')}/artifacts", params={"sort": "size"}))
    assert [(a["digest"], a["size"]) for a in listed] == sorted(
        [heavy, wide, light], key=lambda pair: pair[1])
    assert [a["digest"] for a in listed] == [wide[0], light[0], heavy[0]]
    descending = ok(admin.get(f"{repo_path(project, 'sized')}/artifacts",
                              params={"sort": "-size", "page_size": 2}))
    assert [a["digest"] for a in descending] == [heavy[0], light[0]]
    last = ok(admin.get(f"{repo_path(project, 'sized')}/artifacts",
                        params={"sort": "-size", "page_size": 2, "page": 2}))
    assert [a["digest"] for a in last] == [wide[0]]


def test_an_index_size_follows_its_children_through_delete_and_push_again(
        registry, admin, project):
    repo = f"{project}/multi"
    index = push_index(registry.url, repo)
    children = [len(c.manifest) + len(c.config) + sum(map(len, c.layers))
                for c in index.children]

    def index_size() -> int:
        listed = ok(admin.get(f"{repo_path(project, 'multi')}/artifacts",
                              params={"q": f"digest={index.digest}"}))
        return int(listed[0]["size"])

    assert index_size() == len(index.manifest) + sum(children)
    gone = index.children[0]
    deleted = admin_http.delete(f"{registry.url}/v2/{repo}/manifests/{gone.digest}", timeout=30)
    assert deleted.status_code == 202
    assert index_size() == len(index.manifest) + children[1]
    again = admin_http.put(f"{registry.url}/v2/{repo}/manifests/{gone.digest}",
                           data=gone.manifest, headers={"Content-Type": OCI_MANIFEST},
                           timeout=30)
    assert again.status_code == 201, again.text
    assert index_size() == len(index.manifest) + sum(children)
