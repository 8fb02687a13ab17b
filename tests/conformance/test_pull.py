"""Pull workflow (suite file 01_pull_test.go): blobs and manifests by digest and by tag.

The module fixture does the suite's "Setup" once (two configs, a layer, manifest 0 under the
tag ``tagtest0`` and manifest 1 by digest); the two teardown checks run last.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from ._client import (
    MT_OCI_MANIFEST,
    OCI_ERROR_CODES,
    OciClient,
    assert_blob_answer,
    assert_manifest_answer,
    describe,
    digest_of,
    error_codes,
    unique_repo,
)
from ._data import WorkflowImage, workflow_image, workflow_layer

TAG = "tagtest0"
NONEXISTENT_MANIFEST = ".INVALID_MANIFEST_NAME"


@dataclass(frozen=True)
class PullSetup:
    repo: str
    images: tuple[WorkflowImage, WorkflowImage]
    layer: bytes


@pytest.fixture(scope="module")
def setup(oci: OciClient) -> PullSetup:
    repo = unique_repo("pull")
    layer = workflow_layer()
    images = (workflow_image(layer), workflow_image(layer))
    for image in images:
        oci.ensure_blob(repo, image.config, image.config_digest)
    oci.ensure_blob(repo, layer, digest_of(layer))
    oci.ensure_manifest(repo, TAG, images[0].manifest)
    oci.ensure_manifest(repo, images[1].manifest_digest, images[1].manifest)
    return PullSetup(repo, images, layer)


def _missing_digest() -> str:
    return digest_of(os.urandom(32))


# -- Pull blobs -----------------------------------------------------------------------------------


def test_head_nonexistent_blob_answers_404(oci: OciClient, setup: PullSetup) -> None:
    resp = oci.blob(setup.repo, _missing_digest(), method="HEAD")
    assert resp.status_code == 404, describe(resp)


def test_head_existing_blob_answers_200(oci: OciClient, setup: PullSetup) -> None:
    config = setup.images[0].config
    resp = oci.blob(setup.repo, digest_of(config), method="HEAD")
    assert_blob_answer(resp, config, digest_of(config), method="HEAD")


def test_get_nonexistent_blob_answers_404(oci: OciClient, setup: PullSetup) -> None:
    resp = oci.blob(setup.repo, _missing_digest())
    assert resp.status_code == 404, describe(resp)


def test_get_existing_blob_answers_200(oci: OciClient, setup: PullSetup) -> None:
    config = setup.images[0].config
    resp = oci.blob(setup.repo, digest_of(config))
    assert_blob_answer(resp, config, digest_of(config))


# -- Pull manifests -------------------------------------------------------------------------------


def test_head_nonexistent_manifest_answers_404(oci: OciClient, setup: PullSetup) -> None:
    resp = oci.manifest(setup.repo, NONEXISTENT_MANIFEST, method="HEAD", accept=MT_OCI_MANIFEST)
    assert resp.status_code == 404, describe(resp)


@pytest.mark.parametrize("index", [0, 1])
def test_head_manifest_by_digest_answers_200(oci: OciClient, setup: PullSetup, index: int) -> None:
    image = setup.images[index]
    resp = oci.manifest(setup.repo, image.manifest_digest, method="HEAD", accept=MT_OCI_MANIFEST)
    assert_manifest_answer(resp, image.manifest, MT_OCI_MANIFEST, method="HEAD")


def test_head_manifest_by_tag_answers_200(oci: OciClient, setup: PullSetup) -> None:
    resp = oci.manifest(setup.repo, TAG, method="HEAD", accept=MT_OCI_MANIFEST)
    assert_manifest_answer(resp, setup.images[0].manifest, MT_OCI_MANIFEST, method="HEAD")


def test_get_nonexistent_manifest_answers_404(oci: OciClient, setup: PullSetup) -> None:
    resp = oci.manifest(setup.repo, NONEXISTENT_MANIFEST, accept=MT_OCI_MANIFEST)
    assert resp.status_code == 404, describe(resp)


@pytest.mark.parametrize("index", [0, 1])
def test_get_manifest_by_digest_answers_200(oci: OciClient, setup: PullSetup, index: int) -> None:
    image = setup.images[index]
    resp = oci.manifest(setup.repo, image.manifest_digest, accept=MT_OCI_MANIFEST)
    assert_manifest_answer(resp, image.manifest, MT_OCI_MANIFEST)


def test_get_manifest_by_tag_answers_200(oci: OciClient, setup: PullSetup) -> None:
    resp = oci.manifest(setup.repo, TAG, accept=MT_OCI_MANIFEST)
    assert_manifest_answer(resp, setup.images[0].manifest, MT_OCI_MANIFEST)


# -- Error codes ----------------------------------------------------------------------------------


def test_get_manifest_with_malformed_digest_answers_oci_error(
    oci: OciClient, setup: PullSetup
) -> None:
    # The suite accepts 400 (with an OCI error body) or 404; either way we want the JSON body.
    resp = oci.manifest(setup.repo, "sha256:totallywrong", accept=MT_OCI_MANIFEST)
    assert resp.status_code in (400, 404), describe(resp)
    assert error_codes(resp)[0] in OCI_ERROR_CODES, describe(resp)


# -- Teardown (runs last: it deletes what the set-up pushed) ---------------------------------------


def test_teardown_delete_manifests_answers_202(oci: OciClient, setup: PullSetup) -> None:
    for image in setup.images:
        resp = oci.delete_manifest(setup.repo, image.manifest_digest)
        assert resp.status_code == 202, describe(resp)


def test_teardown_delete_blobs_answers_202(oci: OciClient, setup: PullSetup) -> None:
    digests = [image.config_digest for image in setup.images] + [digest_of(setup.layer)]
    for digest in digests:
        resp = oci.delete_blob(setup.repo, digest)
        assert resp.status_code == 202, describe(resp)
