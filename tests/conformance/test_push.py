"""Push workflow (suite file 02_push_test.go): streamed, monolithic and chunked blob uploads,
cross-repository mounts and manifest uploads.

The suite runs each context as a chain of requests where a check uses the previous answer.
Here a module fixture per context sends the whole chain once and keeps every answer; each
test then checks one step.  A step that could not be sent (because an earlier one failed)
is reported by name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import requests

from ._client import (
    MT_OCI_MANIFEST,
    OciClient,
    assert_blob_answer,
    assert_digest_header,
    assert_manifest_answer,
    describe,
    digest_of,
    unique_repo,
)
from ._data import WorkflowImage, workflow_image, workflow_layer

CHUNKED_BLOB_SIZE = 42


@dataclass
class Steps:
    """The answers of a chain of requests, by step name."""

    answers: dict[str, requests.Response] = field(default_factory=dict)
    values: dict[str, object] = field(default_factory=dict)

    def __getitem__(self, name: str) -> requests.Response:
        assert name in self.answers, f"step {name!r} was not sent: an earlier step failed"
        return self.answers[name]

    def has_location(self, name: str) -> bool:
        resp = self.answers.get(name)
        return resp is not None and bool(resp.headers.get("Location"))


@dataclass(frozen=True)
class PushContext:
    repo: str
    mount_repo: str
    layer: bytes
    images: tuple[WorkflowImage, WorkflowImage]
    blob_a: bytes


@pytest.fixture(scope="module")
def ctx() -> PushContext:
    layer = workflow_layer()
    return PushContext(
        repo=unique_repo("push"),
        mount_repo=unique_repo("push-mount"),
        layer=layer,
        images=(workflow_image(layer), workflow_image(layer)),
        blob_a=os.urandom(42),
    )


# -- Blob Upload Streamed -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def streamed(oci: OciClient, ctx: PushContext) -> Steps:
    steps = Steps()
    steps.answers["post"] = oci.start_upload(ctx.repo)
    if not steps.has_location("post"):
        return steps
    url = oci.upload_url(steps["post"])
    steps.answers["patch"] = oci.patch_chunk(url, ctx.blob_a)
    if not steps.has_location("patch"):
        return steps
    steps.answers["put"] = oci.finish_upload(oci.upload_url(steps["patch"]), digest_of(ctx.blob_a))
    return steps


def test_patch_streamed_blob_answers_202(streamed: Steps, ctx: PushContext) -> None:
    assert streamed["post"].headers.get("Location"), describe(streamed["post"])
    resp = streamed["patch"]
    assert resp.status_code == 202, describe(resp)
    assert resp.headers.get("Location"), describe(resp)
    assert resp.headers.get("Range") == f"0-{len(ctx.blob_a) - 1}", describe(resp)


def test_put_streamed_upload_with_digest_answers_201(
    oci: OciClient, streamed: Steps, ctx: PushContext
) -> None:
    resp = streamed["put"]
    assert resp.status_code == 201, describe(resp)
    assert resp.headers.get("Location"), describe(resp)
    assert_digest_header(resp, digest_of(ctx.blob_a))
    assert_blob_answer(oci.request("GET", oci.upload_url(resp)), ctx.blob_a, digest_of(ctx.blob_a))


# -- Blob Upload Monolithic -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def monolithic(oci: OciClient, ctx: PushContext) -> Steps:
    config = ctx.images[1].config
    steps = Steps()
    steps.answers["post-with-digest"] = oci.start_upload(
        ctx.repo,
        params={"digest": digest_of(config)},
        data=config,
        headers={"Content-Type": "application/octet-stream"},
    )
    steps.answers["get-after-post"] = oci.blob(ctx.repo, digest_of(config))
    steps.answers["post"] = oci.start_upload(ctx.repo)
    if steps.has_location("post"):
        url = oci.upload_url(steps["post"])
        steps.answers["put"] = oci.finish_upload(url, digest_of(config), config)
        steps.answers["get-after-put"] = oci.blob(ctx.repo, digest_of(config))
    layer_post = oci.start_upload(ctx.repo)
    if layer_post.status_code == 202 and layer_post.headers.get("Location"):
        url = oci.upload_url(layer_post)
        steps.answers["put-layer"] = oci.finish_upload(url, digest_of(ctx.layer), ctx.layer)
        steps.answers["get-layer"] = oci.blob(ctx.repo, digest_of(ctx.layer))
    return steps


def test_monolithic_get_nonexistent_blob_answers_404(oci: OciClient, ctx: PushContext) -> None:
    resp = oci.blob(ctx.repo, digest_of(os.urandom(32)))
    assert resp.status_code == 404, describe(resp)


def test_post_with_digest_and_blob_answers_201(monolithic: Steps, ctx: PushContext) -> None:
    # The suite also accepts 202 (a registry that ignores the body); ours stores the blob.
    resp = monolithic["post-with-digest"]
    assert resp.status_code == 201, describe(resp)
    assert resp.headers.get("Location"), describe(resp)
    assert_digest_header(resp, ctx.images[1].config_digest)


def test_get_blob_from_monolithic_post_answers_200(monolithic: Steps, ctx: PushContext) -> None:
    config = ctx.images[1].config
    assert_blob_answer(monolithic["get-after-post"], config, digest_of(config))


def test_post_answers_202_with_session_location(monolithic: Steps) -> None:
    resp = monolithic["post"]
    assert resp.status_code == 202, describe(resp)
    assert resp.headers.get("Location"), describe(resp)


def test_put_monolithic_upload_answers_201(monolithic: Steps, ctx: PushContext) -> None:
    resp = monolithic["put"]
    assert resp.status_code == 201, describe(resp)
    assert resp.headers.get("Location"), describe(resp)
    assert_digest_header(resp, ctx.images[1].config_digest)


def test_get_existing_blob_answers_200(monolithic: Steps, ctx: PushContext) -> None:
    config = ctx.images[1].config
    assert_blob_answer(monolithic["get-after-put"], config, digest_of(config))


def test_put_layer_blob_answers_201(monolithic: Steps) -> None:
    resp = monolithic["put-layer"]
    assert resp.status_code == 201, describe(resp)
    assert resp.headers.get("Location"), describe(resp)


def test_get_existing_layer_answers_200(monolithic: Steps, ctx: PushContext) -> None:
    assert_blob_answer(monolithic["get-layer"], ctx.layer, digest_of(ctx.layer))


# -- Blob Upload Chunked --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chunked(oci: OciClient, ctx: PushContext) -> Steps:
    steps = Steps()
    size = CHUNKED_BLOB_SIZE
    steps.answers["post-out-of-order"] = oci.start_upload(ctx.repo)
    if not steps.has_location("post-out-of-order"):
        return steps
    # A registry may require a minimum chunk size: grow the blob so chunk one is that big.
    minimum = steps["post-out-of-order"].headers.get("OCI-Chunk-Min-Length")
    if minimum and int(minimum) > size // 2 + 1:
        size = int(minimum) * 2 - 2
    blob = os.urandom(size)
    split = size // 2 + 1
    first, second = blob[:split], blob[split:]
    steps.values.update(blob=blob, first=first, second=second)

    url = oci.upload_url(steps["post-out-of-order"])
    steps.answers["patch-out-of-order"] = oci.patch_chunk(url, second, start=split)

    steps.answers["post"] = oci.start_upload(ctx.repo)
    if not steps.has_location("post"):
        return steps
    session = oci.upload_url(steps["post"])
    steps.answers["patch-first"] = oci.patch_chunk(session, first, start=0)
    # Send the first chunk again to the first session URL: that range is already written.
    steps.answers["patch-retry"] = oci.patch_chunk(session, first, start=0)
    steps.answers["status"] = oci.request("GET", session)
    if not steps.has_location("status"):
        return steps
    steps.answers["patch-second"] = oci.patch_chunk(
        oci.upload_url(steps["status"]), second, start=split
    )
    if not steps.has_location("patch-second"):
        return steps
    steps.answers["put"] = oci.finish_upload(oci.upload_url(steps["patch-second"]), digest_of(blob))
    steps.answers["get"] = oci.blob(ctx.repo, digest_of(blob))
    return steps


def _first_range(steps: Steps) -> str:
    first = steps.values["first"]
    assert isinstance(first, bytes)
    return f"0-{len(first) - 1}"


def test_patch_out_of_order_chunk_answers_416(chunked: Steps) -> None:
    resp = chunked["patch-out-of-order"]
    assert resp.status_code == 416, describe(resp)


def test_patch_first_chunk_answers_202(chunked: Steps) -> None:
    resp = chunked["patch-first"]
    assert resp.status_code == 202, describe(resp)
    assert resp.headers.get("Range") == _first_range(chunked), describe(resp)


def test_patch_retry_of_previous_chunk_answers_416(chunked: Steps) -> None:
    resp = chunked["patch-retry"]
    assert resp.status_code == 416, describe(resp)


def test_get_upload_status_answers_204_with_range_and_location(chunked: Steps) -> None:
    resp = chunked["status"]
    assert resp.status_code == 204, describe(resp)
    assert resp.headers.get("Location"), describe(resp)
    assert resp.headers.get("Range") == _first_range(chunked), describe(resp)


def test_patch_second_chunk_answers_202(chunked: Steps) -> None:
    resp = chunked["patch-second"]
    assert resp.status_code == 202, describe(resp)
    assert resp.headers.get("Location"), describe(resp)
    blob = chunked.values["blob"]
    assert isinstance(blob, bytes)
    assert resp.headers.get("Range") == f"0-{len(blob) - 1}", describe(resp)


def test_put_chunked_upload_with_digest_answers_201(chunked: Steps) -> None:
    resp = chunked["put"]
    assert resp.status_code == 201, describe(resp)
    assert resp.headers.get("Location"), describe(resp)
    blob = chunked.values["blob"]
    assert isinstance(blob, bytes)
    assert_digest_header(resp, digest_of(blob))
    assert_blob_answer(chunked["get"], blob, digest_of(blob))


# -- Cross-Repository Blob Mount ------------------------------------------------------------------


@pytest.fixture(scope="module")
def mounts(oci: OciClient, ctx: PushContext) -> Steps:
    steps = Steps()
    digest_a = digest_of(ctx.blob_a)
    oci.ensure_blob(ctx.repo, ctx.blob_a, digest_a)
    steps.answers["mount-without-from"] = oci.start_upload(
        ctx.mount_repo, params={"mount": digest_of(os.urandom(32))}
    )
    steps.answers["mount"] = oci.start_upload(
        ctx.mount_repo, params={"mount": digest_a, "from": ctx.repo}
    )
    if steps.has_location("mount"):
        steps.answers["get-mounted"] = oci.request("GET", oci.upload_url(steps["mount"]))
    steps.answers["mount-missing"] = oci.start_upload(
        ctx.mount_repo, params={"mount": digest_of(os.urandom(32)), "from": ctx.repo}
    )
    # Automatic content discovery: mount without `from`, of a blob the registry holds.
    other_repo = unique_repo("push-mount-auto")
    steps.answers["mount-auto"] = oci.start_upload(other_repo, params={"mount": digest_a})
    return steps


def _location_path(oci: OciClient, resp: requests.Response) -> str:
    return urlsplit(oci.upload_url(resp)).path


def test_mount_without_from_answers_202_upload_session(oci: OciClient, mounts: Steps) -> None:
    resp = mounts["mount-without-from"]
    assert resp.status_code == 202, describe(resp)
    assert resp.headers.get("Location"), describe(resp)


def test_mount_from_other_repository_answers_201(
    oci: OciClient, mounts: Steps, ctx: PushContext
) -> None:
    # The suite also accepts 202 (no mount support); ours mounts.
    resp = mounts["mount"]
    digest_a = digest_of(ctx.blob_a)
    assert resp.status_code == 201, describe(resp)
    assert _location_path(oci, resp) == f"/v2/{ctx.mount_repo}/blobs/{digest_a}", describe(resp)
    assert_digest_header(resp, digest_a)


def test_get_mounted_blob_answers_200(mounts: Steps, ctx: PushContext) -> None:
    assert_blob_answer(mounts["get-mounted"], ctx.blob_a, digest_of(ctx.blob_a))


def test_mount_of_nonexistent_blob_answers_202_upload_session(
    oci: OciClient, mounts: Steps, ctx: PushContext
) -> None:
    resp = mounts["mount-missing"]
    assert resp.status_code == 202, describe(resp)
    assert _location_path(oci, resp).startswith(f"/v2/{ctx.mount_repo}/blobs/uploads/"), describe(
        resp
    )


def test_mount_without_from_of_known_blob_answers_202(mounts: Steps) -> None:
    # Automatic content discovery is off by design (see test_blob_apis); the suite accepts
    # a 202 upload session when it is disabled.
    resp = mounts["mount-auto"]
    assert resp.status_code == 202, describe(resp)
    assert resp.headers.get("Location"), describe(resp)


# -- Manifest Upload ------------------------------------------------------------------------------

UPLOAD_TAGS = ["test0", "test1", "test2", "test3"]
EMPTY_LAYER_TAG = "emptylayer"


@pytest.fixture(scope="module")
def manifest_uploads(oci: OciClient, ctx: PushContext) -> Steps:
    image = ctx.images[1]
    oci.ensure_blob(ctx.repo, image.config, image.config_digest)
    oci.ensure_blob(ctx.repo, ctx.layer, digest_of(ctx.layer))
    steps = Steps()
    for tag in UPLOAD_TAGS:
        steps.answers[f"put-{tag}"] = oci.put_manifest(ctx.repo, tag, image.manifest)
    # The suite's manifest without layers has no mediaType field either.
    empty = workflow_image(None, config=image.config, media_type_field=False)
    steps.values["empty-layer"] = empty
    steps.answers["put-empty-layer"] = oci.put_manifest(ctx.repo, EMPTY_LAYER_TAG, empty.manifest)
    return steps


def test_upload_get_nonexistent_manifest_answers_404(oci: OciClient, ctx: PushContext) -> None:
    resp = oci.manifest(ctx.repo, ".INVALID_MANIFEST_NAME", accept=MT_OCI_MANIFEST)
    assert resp.status_code == 404, describe(resp)


@pytest.mark.parametrize("tag", UPLOAD_TAGS)
def test_put_manifest_answers_201(
    oci: OciClient, manifest_uploads: Steps, ctx: PushContext, tag: str
) -> None:
    resp = manifest_uploads[f"put-{tag}"]
    assert resp.status_code == 201, describe(resp)
    assert resp.headers.get("Location"), describe(resp)
    assert_digest_header(resp, ctx.images[1].manifest_digest)
    located = oci.request("GET", oci.upload_url(resp), headers={"Accept": MT_OCI_MANIFEST})
    assert_manifest_answer(located, ctx.images[1].manifest, MT_OCI_MANIFEST)


def test_put_manifest_without_layers_answers_201(oci: OciClient, manifest_uploads: Steps) -> None:
    # The suite only warns when a registry refuses this; ours accepts it.
    resp = manifest_uploads["put-empty-layer"]
    assert resp.status_code == 201, describe(resp)
    assert resp.headers.get("Location"), describe(resp)


def test_get_manifest_by_digest_answers_200(
    oci: OciClient, manifest_uploads: Steps, ctx: PushContext
) -> None:
    image = ctx.images[1]
    resp = oci.manifest(ctx.repo, image.manifest_digest, accept=MT_OCI_MANIFEST)
    assert_manifest_answer(resp, image.manifest, MT_OCI_MANIFEST)


# -- Teardown (runs last) -------------------------------------------------------------------------


def test_teardown_delete_manifests_answers_202(
    oci: OciClient, manifest_uploads: Steps, ctx: PushContext
) -> None:
    empty = manifest_uploads.values["empty-layer"]
    assert isinstance(empty, WorkflowImage)
    for digest in (ctx.images[1].manifest_digest, empty.manifest_digest):
        resp = oci.delete_manifest(ctx.repo, digest)
        assert resp.status_code == 202, describe(resp)


def test_teardown_delete_blobs_answers_202(
    oci: OciClient, manifest_uploads: Steps, ctx: PushContext
) -> None:
    for digest in (ctx.images[1].config_digest, digest_of(ctx.layer)):
        resp = oci.delete_blob(ctx.repo, digest)
        assert resp.status_code == 202, describe(resp)
