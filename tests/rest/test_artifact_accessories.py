"""Accessories (artifacts with a ``subject``: signatures, SBOMs) are not artifacts of the
list, as in Harbor: neither rows nor ``X-Total-Count`` nor the repository's artifact count
hold them; ``with_accessory=true`` shows them under their subject. A referrer pushed before
its subject is an accessory too."""

from __future__ import annotations

import json

import pytest

from tests.rest.artifact_helpers import ok, repo_path
from tests.rest.conftest import create_project
from tests.support.oci import (
    EMPTY_CONFIG,
    OCI_MANIFEST,
    PushedImage,
    descriptor,
    push_blob,
    push_image,
    sha256,
)
from tests.support.server import admin_http

COSIGN = "application/vnd.dev.cosign.artifact.sig.v1+json"
SPDX = "application/spdx+json"
SIZES: dict[str, int] = {}  # an accessory's size as Harbor records it: its artifact's total


@pytest.fixture
def project(admin):
    return create_project(admin)


def _refer(base_url: str, repo: str, subject: PushedImage, artifact_type: str,
           payload: bytes) -> str:
    """Push a referrer of ``subject`` by digest; its digest (its size goes in SIZES)."""
    empty = b"{}"
    for blob in (empty, payload):
        push_blob(base_url, repo, blob)
    body = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
        "config": descriptor(EMPTY_CONFIG, empty),
        "layers": [descriptor("application/octet-stream", payload)],
        "subject": descriptor(OCI_MANIFEST, subject.manifest),
    }).encode()
    put = admin_http.put(f"{base_url}/v2/{repo}/manifests/{sha256(body)}", data=body,
                         headers={"Content-Type": OCI_MANIFEST}, timeout=30)
    assert put.status_code == 201, put.text
    SIZES[sha256(body)] = len(body) + len(empty) + len(payload)
    return sha256(body)


def test_accessories_leave_the_list_its_count_and_pages(registry, admin, project):
    repo = f"{project}/signed"
    images = [push_image(registry.url, repo, tag=f"v{i}", seed=f"acc-{i}") for i in range(3)]
    signatures = [_refer(registry.url, repo, image, COSIGN, f"sig {i}".encode())
                  for i, image in enumerate(images)]
    sbom = _refer(registry.url, repo, images[0], SPDX, b'{"spdxVersion": "SPDX-2.3"}')
    path = f"{repo_path(project, 'signed')}/artifacts"
    expected = [image.digest for image in reversed(images)]  # newest push first

    whole = admin.get(path)
    assert [a["digest"] for a in ok(whole)] == expected
    assert whole.headers["X-Total-Count"] == "3"
    first = admin.get(path, params={"page_size": 2})
    second = admin.get(path, params={"page_size": 2, "page": 2})
    assert [a["digest"] for a in ok(first) + ok(second)] == expected
    assert first.headers["X-Total-Count"] == second.headers["X-Total-Count"] == "3"
    assert [a["digest"] for a in ok(admin.get(path, params={"sort": "-size"}))] != []
    # named by digest, an accessory is still no row of the list (Harbor filters it out)
    assert ok(admin.get(path, params={"q": f"digest={signatures[0]}"})) == []
    # ... but it is an artifact of its own when asked for
    assert ok(admin.get(f"{path}/{signatures[0]}"))["digest"] == signatures[0]

    repository = ok(admin.get(repo_path(project, "signed")))
    assert repository["artifact_count"] == 3
    listed = ok(admin.get(f"/projects/{project}/repositories", params={"q": "name=" + repo}))
    assert [r["artifact_count"] for r in listed] == [3]

    with_accessories = ok(admin.get(path, params={"with_accessory": "true"}))
    found = {a["digest"]: sorted((x["digest"], x["type"]) for x in a["accessories"] or [])
             for a in with_accessories}
    sizes = {x["digest"]: x["size"] for a in with_accessories for x in a["accessories"]}
    assert sizes == {digest: SIZES[digest] for digest in [*signatures, sbom]}
    assert found == {
        images[0].digest: sorted([(signatures[0], "signature.cosign"),
                                  (sbom, "subject.accessory")]),
        images[1].digest: [(signatures[1], "signature.cosign")],
        images[2].digest: [(signatures[2], "signature.cosign")],
    }


def test_a_referrer_pushed_before_its_subject_is_hidden_too(registry, admin, project):
    repo = f"{project}/early"
    lonely = push_image(registry.url, repo, tag="kept", seed="early-kept")
    # the subject's manifest is known to the client, not yet to the registry
    absent = PushedImage(repo, b'{"schemaVersion": 2, "absent": true}', "", b"", [])
    _refer(registry.url, repo, absent, COSIGN, b"early signature")
    response = admin.get(f"{repo_path(project, 'early')}/artifacts")
    assert [a["digest"] for a in ok(response)] == [lonely.digest]
    assert response.headers["X-Total-Count"] == "1"
