"""Error conditions (suite file 07_error_codes_test.go and the newer ``TestManifestErrors``):
invalid manifests and digests, missing content, and the OCI error body.

The repository holds one image, so "unknown" always means unknown content in a known
repository.
"""

from __future__ import annotations

import os
import secrets

import pytest

from ._client import (
    MANIFEST_ACCEPT,
    MT_OCI_MANIFEST,
    OciClient,
    assert_oci_error,
    describe,
    digest_of,
    unique_repo,
)
from ._data import WorkflowImage, workflow_image, workflow_layer


@pytest.fixture(scope="module")
def repo(oci: OciClient) -> str:
    name = unique_repo("errors")
    layer = workflow_layer()
    image = workflow_image(layer)
    oci.ensure_blob(name, image.config, image.config_digest)
    oci.ensure_blob(name, layer, digest_of(layer))
    oci.ensure_manifest(name, "present", image.manifest)
    return name


@pytest.fixture
def unpushed_image(oci: OciClient, repo: str) -> WorkflowImage:
    """An image whose blobs are pushed but whose manifest is not."""
    layer = workflow_layer()
    image = workflow_image(layer)
    oci.ensure_blob(repo, image.config, image.config_digest)
    oci.ensure_blob(repo, layer, digest_of(layer))
    return image


def test_put_invalid_manifest_answers_400_with_oci_error_code(oci: OciClient, repo: str) -> None:
    resp = oci.put_manifest(repo, "sha256:totallywrong", b"blablabla")
    assert_oci_error(resp, 400)


def test_get_missing_manifest_by_digest_answers_404(oci: OciClient, repo: str) -> None:
    resp = oci.manifest(repo, digest_of(os.urandom(1024)), accept=MANIFEST_ACCEPT)
    assert resp.status_code == 404, describe(resp)


def test_get_missing_manifest_by_tag_answers_404(oci: OciClient, repo: str) -> None:
    resp = oci.manifest(repo, f"missing-{secrets.token_hex(10)}", accept=MANIFEST_ACCEPT)
    assert resp.status_code == 404, describe(resp)


def test_put_manifest_with_malformed_digest_reference_answers_400(
    oci: OciClient, repo: str, unpushed_image: WorkflowImage
) -> None:
    resp = oci.put_manifest(repo, "sha256:baddigeststring", unpushed_image.manifest)
    assert_oci_error(resp, 400)


def test_get_manifest_with_malformed_digest_reference_answers_400_or_404(
    oci: OciClient, repo: str
) -> None:
    # The suite accepts both; the answer must still be an OCI error.
    resp = oci.manifest(repo, "sha256:baddigeststring", accept=MANIFEST_ACCEPT)
    assert resp.status_code in (400, 404), describe(resp)
    assert_oci_error(resp, resp.status_code)


def test_put_manifest_with_mismatched_digest_answers_400(
    oci: OciClient, repo: str, unpushed_image: WorkflowImage
) -> None:
    # The suite's "bad digest image": the body has two extra spaces the digest does not cover.
    resp = oci.put_manifest(
        repo, unpushed_image.manifest_digest, unpushed_image.manifest + b"  ", MT_OCI_MANIFEST
    )
    assert_oci_error(resp, 400, "DIGEST_INVALID", "MANIFEST_INVALID")
    stored = oci.manifest(repo, unpushed_image.manifest_digest, method="HEAD")
    assert stored.status_code == 404, describe(stored)


# -- error codes of missing content (spec error table; not suite checks) ---------------------------


def test_get_unknown_blob_answers_blob_unknown(oci: OciClient, repo: str) -> None:
    assert_oci_error(oci.blob(repo, digest_of(os.urandom(64))), 404, "BLOB_UNKNOWN")


def test_get_unknown_manifest_answers_manifest_unknown(oci: OciClient, repo: str) -> None:
    resp = oci.manifest(repo, digest_of(os.urandom(64)))
    assert_oci_error(resp, 404, "MANIFEST_UNKNOWN")


def test_get_unknown_upload_answers_blob_upload_unknown(oci: OciClient, repo: str) -> None:
    resp = oci.request("GET", f"/v2/{repo}/blobs/uploads/{secrets.token_hex(16)}")
    assert_oci_error(resp, 404, "BLOB_UPLOAD_UNKNOWN")


def test_delete_unknown_tag_answers_404_with_oci_error_code(oci: OciClient, repo: str) -> None:
    # The suite's "DELETE request to manifest URL (tag) should have OCI-conforming code",
    # for a registry that does delete tags: an unknown tag.
    resp = oci.delete_manifest(repo, f"missing-{secrets.token_hex(6)}")
    assert_oci_error(resp, 404, "MANIFEST_UNKNOWN")
