"""Base API route (end-1): ``GET /v2/``."""

from __future__ import annotations

import os

from ._client import API_VERSION, API_VERSION_HEADER, OciClient, describe, digest_of, unique_repo


def test_get_base_api_route_answers_200(oci: OciClient) -> None:
    resp = oci.request("GET", "/v2/")
    assert resp.status_code == 200, describe(resp)


def test_base_api_route_answers_api_version_header(oci: OciClient) -> None:
    # Not a suite check: the header clients use to recognise a v2 registry.
    resp = oci.request("GET", "/v2/")
    assert resp.headers.get(API_VERSION_HEADER) == API_VERSION, describe(resp)


def test_every_kind_of_answer_carries_api_version_header(oci: OciClient) -> None:
    # Not a suite check: success and error answers alike carry the header.
    repo = unique_repo("base")
    data = os.urandom(64)
    started = oci.start_upload(repo)
    answers = [
        started,
        oci.finish_upload(oci.upload_url(started), digest_of(data), data),
        oci.blob(repo, digest_of(data)),
        oci.blob(repo, digest_of(os.urandom(64))),
        oci.manifest(repo, "no-such-tag"),
        oci.put_manifest(repo, "latest", b"not a manifest"),
    ]
    assert [resp.status_code for resp in answers] == [202, 201, 200, 404, 404, 400], [
        describe(resp) for resp in answers
    ]
    for resp in answers:
        assert resp.headers.get(API_VERSION_HEADER) == API_VERSION, describe(resp)
