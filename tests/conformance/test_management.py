"""Content management (suite file 04_management_test.go): deleting a tag, a manifest and blobs.

The suite's checks form one chain (delete the tag, then the manifest, then read both back, then
delete the blobs), so the module fixture sends the chain once and keeps each answer.  A second
image stays tagged, as other workflows' tags would in the suite's shared repository.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import requests

from ._client import MT_OCI_MANIFEST, OciClient, describe, digest_of, unique_repo
from ._data import WorkflowImage, workflow_image, workflow_layer

TAG = "tagtest0"
KEPT_TAG = "kept"


@dataclass
class Management:
    image: WorkflowImage
    layer: bytes
    tags_before: list[str]
    answers: dict[str, requests.Response] = field(default_factory=dict)


@pytest.fixture(scope="module")
def chain(oci: OciClient) -> Management:
    repo = unique_repo("management")
    layer = workflow_layer()
    image, kept = workflow_image(layer), workflow_image(None)
    for pushed in (image, kept):
        oci.ensure_blob(repo, pushed.config, pushed.config_digest)
    oci.ensure_blob(repo, layer, digest_of(layer))
    oci.ensure_manifest(repo, TAG, image.manifest)
    oci.ensure_manifest(repo, KEPT_TAG, kept.manifest)
    state = Management(image, layer, oci.tag_names(repo))
    answers = state.answers
    answers["delete-tag"] = oci.delete_manifest(repo, TAG)
    answers["head-tag"] = oci.manifest(repo, TAG, method="HEAD", accept=MT_OCI_MANIFEST)
    answers["delete-digest"] = oci.delete_manifest(repo, image.manifest_digest)
    answers["get-digest"] = oci.manifest(repo, image.manifest_digest, accept=MT_OCI_MANIFEST)
    answers["tags-after"] = oci.tags(repo)
    answers["delete-config"] = oci.delete_blob(repo, image.config_digest)
    answers["delete-layer"] = oci.delete_blob(repo, digest_of(layer))
    answers["get-config"] = oci.blob(repo, image.config_digest)
    answers["get-layer"] = oci.blob(repo, digest_of(layer))
    return state


def test_delete_manifest_by_tag_answers_202(chain: Management) -> None:
    # The suite also accepts 400 UNSUPPORTED or 405 (tag deletion refused); ours deletes.
    resp = chain.answers["delete-tag"]
    assert resp.status_code == 202, describe(resp)


def test_head_deleted_tag_answers_404(chain: Management) -> None:
    # The newer suite's "tag delete is atomic" check.
    resp = chain.answers["head-tag"]
    assert resp.status_code == 404, describe(resp)


def test_delete_manifest_by_digest_answers_202(chain: Management) -> None:
    # Deleting the tag only untags: the manifest is still there to delete.
    resp = chain.answers["delete-digest"]
    assert resp.status_code == 202, describe(resp)


def test_get_deleted_manifest_answers_404(chain: Management) -> None:
    resp = chain.answers["get-digest"]
    assert resp.status_code == 404, describe(resp)


def test_tag_list_reflects_manifest_deletion(chain: Management) -> None:
    resp = chain.answers["tags-after"]
    assert resp.status_code == 200, describe(resp)
    tags = resp.json().get("tags") or []
    assert len(tags) < len(chain.tags_before), describe(resp)
    assert tags == [KEPT_TAG], describe(resp)


@pytest.mark.parametrize("step", ["delete-config", "delete-layer"])
def test_delete_blob_answers_202(chain: Management, step: str) -> None:
    # The suite also accepts 404 and 405; ours deletes.
    resp = chain.answers[step]
    assert resp.status_code == 202, describe(resp)


@pytest.mark.parametrize("step", ["get-config", "get-layer"])
def test_get_deleted_blob_answers_404(chain: Management, step: str) -> None:
    resp = chain.answers[step]
    assert resp.status_code == 404, describe(resp)
