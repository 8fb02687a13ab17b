"""Content types (the suite's data sets): images, indexes, artifacts, subjects, data fields,
foreign layers, custom fields, manifests without layers and sha512 content, each pushed,
listed, read back by tag and by digest, queried for referrers, and deleted.

Each data set lives in its own repository.  The ``pushed`` fixture pushes them all once; the
``deleted`` fixture, used only by the delete tests at the end of the file, then deletes them
the way the suite does (tags, then manifests in reverse push order, then blobs), keeping
every answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import requests

from ._client import (
    MANIFEST_ACCEPT,
    OciClient,
    assert_blob_answer,
    assert_digest_header,
    assert_manifest_answer,
    describe,
    referrers_index,
    unique_repo,
)
from ._data import (
    ALL_DATA_SETS,
    DATA_SETS_WITH_REFERRERS,
    DATA_SETS_WITH_TAGS,
    DataSet,
    build_data_set,
)


@dataclass
class Pushed:
    repo: str
    data: DataSet
    blob_puts: dict[str, requests.Response] = field(default_factory=dict)
    digest_puts: dict[str, requests.Response] = field(default_factory=dict)
    tag_puts: dict[str, requests.Response] = field(default_factory=dict)


def _push(oci: OciClient, repo: str, data: DataSet) -> Pushed:
    """Blobs, then manifests by digest in order, then tags, as the suite's TestPush does."""
    record = Pushed(repo, data)
    for digest, blob in data.blobs.items():
        record.blob_puts[digest] = oci.push_blob(repo, blob, digest)
    for digest in data.order:
        record.digest_puts[digest] = oci.put_manifest(
            repo, digest, data.manifests[digest], data.media_types[digest]
        )
    for tag, digest in data.tags.items():
        record.tag_puts[tag] = oci.put_manifest(
            repo, tag, data.manifests[digest], data.media_types[digest]
        )
    return record


@pytest.fixture(scope="module")
def pushed(oci: OciClient) -> dict[str, Pushed]:
    base = unique_repo("content")
    return {name: _push(oci, f"{base}/{name}", build_data_set(name)) for name in ALL_DATA_SETS}


@dataclass
class Deleted:
    pushed: Pushed
    # reference -> (DELETE answer, HEAD answer right after it)
    tags: dict[str, tuple[requests.Response, requests.Response]] = field(default_factory=dict)
    manifests: dict[str, tuple[requests.Response, requests.Response]] = field(default_factory=dict)
    blobs: dict[str, tuple[requests.Response, requests.Response]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def deleted(oci: OciClient, pushed: dict[str, Pushed]) -> dict[str, Deleted]:
    """Delete every data set the way the suite does.  The delete tests come last in this
    file, so this runs after every test that reads the pushed content."""
    records = {}
    for name, record in pushed.items():
        state = Deleted(record)
        repo, data = record.repo, record.data
        for tag in data.tags:
            state.tags[tag] = (
                oci.delete_manifest(repo, tag),
                oci.manifest(repo, tag, method="HEAD"),
            )
        for digest in reversed(data.order):
            state.manifests[digest] = (
                oci.delete_manifest(repo, digest),
                oci.manifest(repo, digest, method="HEAD"),
            )
        for digest in data.blobs:
            state.blobs[digest] = (
                oci.delete_blob(repo, digest),
                oci.blob(repo, digest, method="HEAD"),
            )
        records[name] = state
    return records


def _check_manifest_put(
    oci: OciClient, record: Pushed, resp: requests.Response, digest: str
) -> None:
    """What the suite checks on a manifest push: 201, the digest header if sent, OCI-Subject
    for a manifest with a subject, and a Location that serves the same manifest."""
    data = record.data
    assert resp.status_code == 201, describe(resp)
    assert_digest_header(resp, digest)
    if digest in data.subjects:
        assert resp.headers.get("OCI-Subject") == data.subjects[digest], describe(resp)
    assert resp.headers.get("Location"), describe(resp)
    located = oci.request("GET", oci.upload_url(resp), headers={"Accept": MANIFEST_ACCEPT})
    assert_manifest_answer(located, data.manifests[digest], data.media_types[digest])


# -- push -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_DATA_SETS)
def test_push_blobs_answers_201(pushed: dict[str, Pushed], name: str) -> None:
    for resp in pushed[name].blob_puts.values():
        assert resp.status_code == 201, describe(resp)


@pytest.mark.parametrize("name", ALL_DATA_SETS)
def test_put_manifest_by_digest_answers_201(
    oci: OciClient, pushed: dict[str, Pushed], name: str
) -> None:
    record = pushed[name]
    for digest, resp in record.digest_puts.items():
        _check_manifest_put(oci, record, resp, digest)


@pytest.mark.parametrize("name", DATA_SETS_WITH_TAGS)
def test_put_manifest_by_tag_answers_201(
    oci: OciClient, pushed: dict[str, Pushed], name: str
) -> None:
    record = pushed[name]
    for tag, resp in record.tag_puts.items():
        _check_manifest_put(oci, record, resp, record.data.tags[tag])


# -- list -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DATA_SETS_WITH_TAGS)
def test_tag_list_includes_pushed_tags_and_honours_last(
    oci: OciClient, pushed: dict[str, Pushed], name: str
) -> None:
    record = pushed[name]
    listed = oci.tag_names(record.repo)
    assert set(record.data.tags) <= set(listed), listed
    if len(listed) >= 2:
        ordered = sorted(listed)
        end = len(ordered) // 2
        last = ordered[end - 1]
        after = oci.tag_names(record.repo, {"last": last})
        assert not set(ordered[:end]) & set(after), (last, after)
        assert set(ordered[end:]) <= set(after), (last, after)


# -- head -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DATA_SETS_WITH_TAGS)
def test_head_manifest_by_tag_answers_200(
    oci: OciClient, pushed: dict[str, Pushed], name: str
) -> None:
    record = pushed[name]
    for tag, digest in record.data.tags.items():
        resp = oci.manifest(record.repo, tag, method="HEAD")
        body, media_type = record.data.manifests[digest], record.data.media_types[digest]
        assert_manifest_answer(resp, body, media_type, method="HEAD")


@pytest.mark.parametrize("name", ALL_DATA_SETS)
def test_head_manifest_by_digest_answers_200(
    oci: OciClient, pushed: dict[str, Pushed], name: str
) -> None:
    record = pushed[name]
    for digest in record.data.order:
        resp = oci.manifest(record.repo, digest, method="HEAD")
        body, media_type = record.data.manifests[digest], record.data.media_types[digest]
        assert_manifest_answer(resp, body, media_type, method="HEAD")


@pytest.mark.parametrize("name", ALL_DATA_SETS)
def test_head_blob_answers_200(oci: OciClient, pushed: dict[str, Pushed], name: str) -> None:
    record = pushed[name]
    for digest, blob in record.data.blobs.items():
        resp = oci.blob(record.repo, digest, method="HEAD")
        assert_blob_answer(resp, blob, digest, method="HEAD")


# -- pull -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DATA_SETS_WITH_TAGS)
def test_get_manifest_by_tag_answers_200(
    oci: OciClient, pushed: dict[str, Pushed], name: str
) -> None:
    record = pushed[name]
    for tag, digest in record.data.tags.items():
        resp = oci.manifest(record.repo, tag)
        body, media_type = record.data.manifests[digest], record.data.media_types[digest]
        assert_manifest_answer(resp, body, media_type)


@pytest.mark.parametrize("name", ALL_DATA_SETS)
def test_get_manifest_by_digest_answers_200(
    oci: OciClient, pushed: dict[str, Pushed], name: str
) -> None:
    record = pushed[name]
    for digest in record.data.order:
        resp = oci.manifest(record.repo, digest)
        body, media_type = record.data.manifests[digest], record.data.media_types[digest]
        assert_manifest_answer(resp, body, media_type)


@pytest.mark.parametrize("name", ALL_DATA_SETS)
def test_get_blob_answers_200(oci: OciClient, pushed: dict[str, Pushed], name: str) -> None:
    record = pushed[name]
    for digest, blob in record.data.blobs.items():
        assert_blob_answer(oci.blob(record.repo, digest), blob, digest)


# -- referrers ------------------------------------------------------------------------------------


def _matches(entry: dict[str, object], expected: dict[str, object]) -> bool:
    annotations = entry.get("annotations") or {}
    assert isinstance(annotations, dict)
    wanted = expected["annotations"]
    assert isinstance(wanted, dict)
    return (
        entry.get("digest") == expected["digest"]
        and entry.get("mediaType") == expected["mediaType"]
        and entry.get("size") == expected["size"]
        and (entry.get("artifactType") or "") == expected["artifactType"]
        and all(annotations.get(key) == value for key, value in wanted.items())
    )


@pytest.mark.parametrize("name", DATA_SETS_WITH_REFERRERS)
def test_referrers_list_every_referrer(
    oci: OciClient, pushed: dict[str, Pushed], name: str
) -> None:
    record = pushed[name]
    for subject, expected in record.data.referrers.items():
        resp = oci.referrers(record.repo, subject)
        entries = referrers_index(resp)["manifests"]
        for goal in expected:
            assert any(_matches(entry, goal) for entry in entries), (goal, describe(resp))


@pytest.mark.parametrize("name", DATA_SETS_WITH_REFERRERS)
def test_referrers_filtered_by_artifact_type(
    oci: OciClient, pushed: dict[str, Pushed], name: str
) -> None:
    record = pushed[name]
    for subject, expected in record.data.referrers.items():
        for artifact_type in {str(goal["artifactType"]) for goal in expected}:
            resp = oci.referrers(record.repo, subject, artifact_type)
            entries = referrers_index(resp)["manifests"]
            applied = [
                part.strip() for part in resp.headers.get("OCI-Filters-Applied", "").split(",")
            ]
            assert "artifactType" in applied, describe(resp)
            for goal in expected:
                if goal["artifactType"] == artifact_type:
                    assert any(_matches(entry, goal) for entry in entries), (goal, describe(resp))
            for entry in entries:
                assert entry.get("artifactType") == artifact_type, describe(resp)


# -- delete ---------------------------------------------------------------------------------------


def _require_pushed(record: Deleted) -> None:
    """Deleting only means something if the push worked (the push tests say why not)."""
    answers = [
        *record.pushed.blob_puts.values(),
        *record.pushed.digest_puts.values(),
        *record.pushed.tag_puts.values(),
    ]
    for resp in answers:
        assert resp.status_code == 201, f"push before delete failed: {describe(resp)}"


@pytest.mark.parametrize("name", DATA_SETS_WITH_TAGS)
def test_delete_tag_answers_202_then_tag_is_gone(deleted: dict[str, Deleted], name: str) -> None:
    _require_pushed(deleted[name])
    for removal, head in deleted[name].tags.values():
        assert removal.status_code == 202, describe(removal)
        assert head.status_code == 404, describe(head)


@pytest.mark.parametrize("name", ALL_DATA_SETS)
def test_delete_manifest_answers_202_then_manifest_is_gone(
    deleted: dict[str, Deleted], name: str
) -> None:
    _require_pushed(deleted[name])
    for removal, head in deleted[name].manifests.values():
        assert removal.status_code == 202, describe(removal)
        assert head.status_code == 404, describe(head)


@pytest.mark.parametrize("name", ALL_DATA_SETS)
def test_delete_blob_answers_202_then_blob_is_gone(deleted: dict[str, Deleted], name: str) -> None:
    _require_pushed(deleted[name])
    for removal, head in deleted[name].blobs.values():
        assert removal.status_code == 202, describe(removal)
        assert head.status_code == 404, describe(head)
