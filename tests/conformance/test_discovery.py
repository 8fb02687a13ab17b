"""Content discovery (suite files 03_discovery_test.go and 06_tags_list_test.go): the tag list
with ``n`` and ``last``, and the referrers API with the suite's artifacts.

The module fixture does the suite's "Setup" once: an image under the tags test0..test3, and
the referrers set-up, in the suite's order: three referrers pushed *before* their subject
(manifest 4, tagged tagtest0), two after it, and one whose subject (manifest 3) never exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import requests

from ._client import (
    EMPTY_JSON_SHA256,
    MT_OCI_EMPTY,
    MT_OCI_INDEX,
    MT_OCI_MANIFEST,
    OciClient,
    assert_oci_error,
    describe,
    digest_of,
    referrers_index,
    unique_repo,
)
from ._data import Json, WorkflowImage, descriptor, indented_json, workflow_image, workflow_layer

LIST_TAGS = ["test0", "test1", "test2", "test3"]
SUBJECT_TAG = "tagtest0"
TYPE_A = "application/vnd.nhl.peanut.butter.bagel"
TYPE_B = "application/vnd.nba.strawberry.jam.croissant"
TYPE_INDEX = "application/vnd.food.stand"
ANNOTATION_KEY = "org.opencontainers.conformance.test"
BLOB_A = b"NHL Peanut Butter on my NHL bagel"
BLOB_B = b"NBA Strawberry Jam on my NBA croissant"
EMPTY_JSON = b"{}"


@dataclass(frozen=True)
class Referrer:
    name: str
    body: bytes
    media_type: str
    artifact_type: str
    subject: str
    annotation: str | None

    @property
    def digest(self) -> str:
        return digest_of(self.body)


def _artifact_manifest(
    subject: WorkflowImage,
    config: Json,
    layers: list[Json],
    artifact_type: str | None,
    annotation: str | None,
) -> bytes:
    doc: Json = {"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST}
    if artifact_type:
        doc["artifactType"] = artifact_type
    doc["config"] = config
    doc["layers"] = layers
    doc["subject"] = descriptor(subject.manifest, MT_OCI_MANIFEST)
    if annotation is not None:
        doc["annotations"] = {ANNOTATION_KEY: annotation}
    return indented_json(doc)


def _referrers(subject: WorkflowImage, missing: WorkflowImage) -> list[Referrer]:
    empty = descriptor(EMPTY_JSON, MT_OCI_EMPTY)
    a_config = _artifact_manifest(
        subject, descriptor(BLOB_A, TYPE_A), [empty], None, "test config a"
    )
    a_layer = _artifact_manifest(
        subject, empty, [descriptor(BLOB_A, TYPE_A)], TYPE_A, "test layer a"
    )
    index_doc: Json = {
        "schemaVersion": 2,
        "mediaType": MT_OCI_INDEX,
        "artifactType": TYPE_INDEX,
        "manifests": [
            descriptor(a_config, MT_OCI_MANIFEST),
            descriptor(a_layer, MT_OCI_MANIFEST),
        ],
        "subject": descriptor(subject.manifest, MT_OCI_MANIFEST),
        "annotations": {ANNOTATION_KEY: "test index"},
    }
    b_config = _artifact_manifest(
        subject, descriptor(BLOB_B, TYPE_B), [empty], None, "test config b"
    )
    b_layer = _artifact_manifest(
        subject, empty, [descriptor(BLOB_B, TYPE_B)], TYPE_B, "test layer b"
    )
    c_layer = _artifact_manifest(missing, empty, [descriptor(BLOB_B, TYPE_B)], TYPE_B, None)
    on_subject, on_missing = subject.manifest_digest, missing.manifest_digest
    return [
        Referrer("a-config", a_config, MT_OCI_MANIFEST, TYPE_A, on_subject, "test config a"),
        Referrer("a-layer", a_layer, MT_OCI_MANIFEST, TYPE_A, on_subject, "test layer a"),
        Referrer(
            "index", indented_json(index_doc), MT_OCI_INDEX, TYPE_INDEX, on_subject, "test index"
        ),
        Referrer("b-config", b_config, MT_OCI_MANIFEST, TYPE_B, on_subject, "test config b"),
        Referrer("b-layer", b_layer, MT_OCI_MANIFEST, TYPE_B, on_subject, "test layer b"),
        Referrer("c-layer", c_layer, MT_OCI_MANIFEST, TYPE_B, on_missing, None),
    ]


@dataclass
class DiscoverySetup:
    repo: str
    layer: bytes
    tagged: WorkflowImage
    subject: WorkflowImage
    missing: WorkflowImage
    referrers: list[Referrer]
    referrer_puts: dict[str, requests.Response] = field(default_factory=dict)


@pytest.fixture(scope="module")
def setup(oci: OciClient) -> DiscoverySetup:
    repo = unique_repo("discovery")
    layer = workflow_layer()
    tagged, subject, missing = (workflow_image(layer) for _ in range(3))
    state = DiscoverySetup(repo, layer, tagged, subject, missing, _referrers(subject, missing))
    # Tags to list.
    oci.ensure_blob(repo, tagged.config, tagged.config_digest)
    oci.ensure_blob(repo, layer, digest_of(layer))
    for tag in LIST_TAGS:
        oci.ensure_manifest(repo, tag, tagged.manifest)
    # Referrers, in the suite's order.
    assert digest_of(EMPTY_JSON) == EMPTY_JSON_SHA256
    oci.ensure_blob(repo, EMPTY_JSON, EMPTY_JSON_SHA256)
    oci.ensure_blob(repo, BLOB_A, digest_of(BLOB_A))
    by_name = {referrer.name: referrer for referrer in state.referrers}

    def put(name: str) -> None:
        referrer = by_name[name]
        state.referrer_puts[name] = oci.put_manifest(
            repo, referrer.digest, referrer.body, referrer.media_type
        )

    for name in ("a-config", "a-layer", "index"):
        put(name)
    oci.ensure_blob(repo, subject.config, subject.config_digest)
    oci.ensure_manifest(repo, SUBJECT_TAG, subject.manifest)
    oci.ensure_blob(repo, BLOB_B, digest_of(BLOB_B))
    for name in ("b-config", "b-layer", "c-layer"):
        put(name)
    return state


def _all_tags() -> list[str]:
    return sorted([*LIST_TAGS, SUBJECT_TAG])


# -- listing tags ---------------------------------------------------------------------------------


def test_get_tag_list_answers_200(oci: OciClient, setup: DiscoverySetup) -> None:
    resp = oci.tags(setup.repo)
    assert resp.status_code == 200, describe(resp)
    doc = resp.json()
    assert doc.get("name") == setup.repo, describe(resp)
    # Lexical order is what makes `last` meaningful.
    assert doc.get("tags") == _all_tags(), describe(resp)


def test_tag_list_is_limited_by_n(oci: OciClient, setup: DiscoverySetup) -> None:
    count = len(_all_tags()) // 2
    resp = oci.tags(setup.repo, {"n": str(count)})
    assert resp.status_code == 200, describe(resp)
    assert resp.json().get("tags") == _all_tags()[:count], describe(resp)


def test_tag_list_limited_by_n_answers_link_to_next_page(
    oci: OciClient, setup: DiscoverySetup
) -> None:
    # Not a suite check (end-8): a partial page carries `Link: <...>; rel="next"`.
    count = len(_all_tags()) // 2
    resp = oci.tags(setup.repo, {"n": str(count)})
    assert resp.status_code == 200, describe(resp)
    following = resp.links.get("next", {}).get("url")
    assert following, describe(resp)
    page = oci.request("GET", oci.absolute(following))
    assert page.status_code == 200, describe(page)
    assert page.json().get("tags") == _all_tags()[count : 2 * count], describe(page)


def test_tag_list_starts_after_last(oci: OciClient, setup: DiscoverySetup) -> None:
    count = len(_all_tags()) // 2
    first_page = oci.tag_names(setup.repo, {"n": str(count)})
    last = first_page[-1]
    resp = oci.tags(setup.repo, {"n": str(count), "last": last})
    assert resp.status_code == 200, describe(resp)
    assert resp.json().get("tags") == _all_tags()[count : 2 * count], describe(resp)


def test_tag_list_last_without_n_lists_every_later_tag(
    oci: OciClient, setup: DiscoverySetup
) -> None:
    ordered = _all_tags()
    end = len(ordered) // 2
    resp = oci.tags(setup.repo, {"last": ordered[end - 1]})
    assert resp.status_code == 200, describe(resp)
    assert resp.json().get("tags") == ordered[end:], describe(resp)


def test_get_manifest_by_listed_tag_answers_200(oci: OciClient, setup: DiscoverySetup) -> None:
    listed = oci.tag_names(setup.repo)
    assert listed, "empty tag list"
    resp = oci.manifest(setup.repo, listed[0], accept=MT_OCI_MANIFEST)
    assert resp.status_code == 200, describe(resp)


def test_tag_list_of_unknown_repository_answers_404_or_empty_200(oci: OciClient) -> None:
    # The suite accepts either answer for a repository without content.
    resp = oci.tags(unique_repo("discovery-empty"))
    if resp.status_code == 200:
        assert not resp.json().get("tags"), describe(resp)
    else:
        assert_oci_error(resp, 404, "NAME_UNKNOWN")


# -- pushing manifests with a subject -------------------------------------------------------------


@pytest.mark.parametrize("name", ["a-config", "a-layer", "index"])
def test_put_referrer_before_subject_answers_201_with_oci_subject(
    setup: DiscoverySetup, name: str
) -> None:
    resp = setup.referrer_puts[name]
    assert resp.status_code == 201, describe(resp)
    assert resp.headers.get("OCI-Subject") == setup.subject.manifest_digest, describe(resp)


@pytest.mark.parametrize("name", ["b-config", "b-layer"])
def test_put_referrer_after_subject_answers_201_with_oci_subject(
    setup: DiscoverySetup, name: str
) -> None:
    resp = setup.referrer_puts[name]
    assert resp.status_code == 201, describe(resp)
    assert resp.headers.get("OCI-Subject") == setup.subject.manifest_digest, describe(resp)


def test_put_referrer_to_missing_subject_answers_201_with_oci_subject(
    setup: DiscoverySetup,
) -> None:
    resp = setup.referrer_puts["c-layer"]
    assert resp.status_code == 201, describe(resp)
    assert resp.headers.get("OCI-Subject") == setup.missing.manifest_digest, describe(resp)


# -- listing referrers ----------------------------------------------------------------------------


def _check_entries(entries: list[Json], expected: list[Referrer]) -> None:
    by_digest = {entry.get("digest"): entry for entry in entries}
    assert len(by_digest) == len(entries), f"duplicate digests: {entries}"
    assert set(by_digest) == {referrer.digest for referrer in expected}, entries
    for referrer in expected:
        entry = by_digest[referrer.digest]
        assert entry.get("mediaType") == referrer.media_type, entry
        assert entry.get("size") == len(referrer.body), entry
        assert entry.get("artifactType") == referrer.artifact_type, entry
        wanted = {ANNOTATION_KEY: referrer.annotation} if referrer.annotation is not None else {}
        assert (entry.get("annotations") or {}) == wanted, entry


def test_referrers_of_unknown_digest_answer_empty_index(
    oci: OciClient, setup: DiscoverySetup
) -> None:
    resp = oci.referrers(setup.repo, digest_of(b"hello world, " + setup.repo.encode()))
    assert referrers_index(resp)["manifests"] == [], describe(resp)


def test_referrers_of_subject_answer_all_referrers(oci: OciClient, setup: DiscoverySetup) -> None:
    resp = oci.referrers(setup.repo, setup.subject.manifest_digest)
    expected = [r for r in setup.referrers if r.subject == setup.subject.manifest_digest]
    assert len(expected) == 5
    _check_entries(referrers_index(resp)["manifests"], expected)


def test_referrers_filtered_by_artifact_type_answer_matching_referrers(
    oci: OciClient, setup: DiscoverySetup
) -> None:
    resp = oci.referrers(setup.repo, setup.subject.manifest_digest, TYPE_A)
    entries = referrers_index(resp)["manifests"]
    # The suite accepts an unfiltered list without the header; ours filters.
    assert resp.headers.get("OCI-Filters-Applied") == "artifactType", describe(resp)
    expected = [r for r in setup.referrers if r.artifact_type == TYPE_A]
    assert len(expected) == 2
    _check_entries(entries, expected)


def test_referrers_of_missing_subject_answer_its_referrer(
    oci: OciClient, setup: DiscoverySetup
) -> None:
    resp = oci.referrers(setup.repo, setup.missing.manifest_digest)
    expected = [r for r in setup.referrers if r.subject == setup.missing.manifest_digest]
    _check_entries(referrers_index(resp)["manifests"], expected)


def test_referrers_in_repository_without_content_answer_empty_index(oci: OciClient) -> None:
    resp = oci.referrers(unique_repo("discovery-empty"), digest_of(b"no such subject"))
    assert referrers_index(resp)["manifests"] == [], describe(resp)


# -- Teardown (runs last) -------------------------------------------------------------------------


def test_teardown_delete_tags_and_manifests_answers_202(
    oci: OciClient, setup: DiscoverySetup
) -> None:
    for tag in [*LIST_TAGS, SUBJECT_TAG]:
        resp = oci.delete_manifest(setup.repo, tag)
        assert resp.status_code == 202, describe(resp)
    digests = [referrer.digest for referrer in reversed(setup.referrers)]
    digests += [setup.subject.manifest_digest, setup.tagged.manifest_digest]
    for digest in digests:
        resp = oci.delete_manifest(setup.repo, digest)
        assert resp.status_code == 202, describe(resp)


def test_teardown_delete_blobs_answers_202(oci: OciClient, setup: DiscoverySetup) -> None:
    digests = [
        setup.tagged.config_digest,
        digest_of(setup.layer),
        setup.subject.config_digest,
        digest_of(BLOB_A),
        digest_of(BLOB_B),
        EMPTY_JSON_SHA256,
    ]
    for digest in digests:
        resp = oci.delete_blob(setup.repo, digest)
        assert resp.status_code == 202, describe(resp)
