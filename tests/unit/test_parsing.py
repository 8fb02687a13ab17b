import json

import pytest

from harbor_twisted.common.names import is_valid_name, is_valid_tag, route_path
from harbor_twisted.registry.errors import RegistryError
from harbor_twisted.registry.manifest_parser import (
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    ManifestInvalid,
    parse_manifest,
)
from harbor_twisted.registry.ranges import parse_content_range, parse_range
from harbor_twisted.storage.digests import Digest, InvalidDigest, parse_digest

D1 = "sha256:" + "1" * 64
D2 = "sha512:" + "2" * 128


def test_digest_accepts_sha256_and_sha512():
    assert parse_digest(D1) == Digest("sha256", "1" * 64)
    assert parse_digest(D2).algorithm == "sha512"


@pytest.mark.parametrize("text", ["", "sha256", "sha256:", "sha256:../x", "sha1:" + "a" * 40,
                                  "sha256:" + "g" * 64, "SHA256:" + "a" * 64, D1 + "\n"])
def test_digest_refuses_malformed_or_unsupported(text):
    with pytest.raises(InvalidDigest):
        parse_digest(text)


@pytest.mark.parametrize("name", ["a", "a/b", "a.b/c_d/e__f", "a-b--c/d", "0/1"])
def test_valid_names(name):
    assert is_valid_name(name)


@pytest.mark.parametrize("name", ["", "A", "a/", "/a", "a//b", "a/../b", "..", "a_", "a..b",
                                  "a___b", "a%2fb", "a" * 256])
def test_invalid_names(name):
    assert not is_valid_name(name)


def test_tags():
    assert is_valid_tag("v1.2.3-rc_1")
    assert is_valid_tag("_x")
    assert not is_valid_tag(".x")
    assert not is_valid_tag("-x")
    assert not is_valid_tag("x" * 129)


def test_routes_on_raw_path():
    route = route_path(b"/v2/a/b/blobs/uploads/1234")
    assert (route.kind, route.name, route.argument) == ("upload", "a/b", "1234")
    assert route_path(b"/v2/a/b/blobs/uploads/").kind == "upload_start"
    assert route_path(b"/v2/a/b/manifests/latest").kind == "manifest"
    assert route_path(b"/v2/a/b/referrers/" + D1.encode()).kind == "referrers"
    assert route_path(b"/v2/_catalog").kind == "catalog"
    assert route_path(b"/v2/a%2Fb/tags/list").name == "a%2Fb"
    assert route_path(b"/v3/") is None


def test_content_range_must_continue_the_upload():
    assert parse_content_range("10-19", 10) == (10, 19)
    assert parse_content_range("bytes 10-19/*", 10) == (10, 19)
    for bad, size in (("0-9", 10), ("11-20", 10), ("19-10", 10), ("x", 0)):
        with pytest.raises(RegistryError) as raised:
            parse_content_range(bad, size)
        assert raised.value.status == 416


def test_download_ranges():
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-9", 100) == (0, 9)
    assert parse_range("bytes=90-", 100) == (90, 99)
    assert parse_range("bytes=-10", 100) == (90, 99)
    assert parse_range("bytes=95-200", 100) == (95, 99)
    assert parse_range("items=0-1", 100) is None
    assert parse_range("bytes=0-1,5-6", 100) is None
    for bad in ("bytes=100-", "bytes=5-1", "bytes=-0", "bytes=a-b"):
        with pytest.raises(RegistryError):
            parse_range(bad, 100)


def _doc(**fields):
    return json.dumps({"schemaVersion": 2, **fields}).encode()


def test_oci_artifact_with_subject_and_no_layers():
    parsed = parse_manifest(
        _doc(mediaType=OCI_MANIFEST, artifactType="application/x-sbom",
             config={"mediaType": "application/vnd.oci.empty.v1+json", "digest": D1, "size": 2},
             layers=[], subject={"mediaType": OCI_MANIFEST, "digest": D2, "size": 9}),
        OCI_MANIFEST,
    )
    assert parsed.effective_artifact_type == "application/x-sbom"
    assert parsed.subject.digest == D2
    assert parsed.required_blobs == {D1: 2}


def test_image_manifest_reports_config_media_type_as_artifact_type():
    parsed = parse_manifest(
        _doc(config={"mediaType": "application/x-custom", "digest": D1, "size": 2},
             layers=[{"mediaType": "x", "digest": D2, "size": 5}]),
        None,
    )
    assert parsed.media_type == OCI_MANIFEST
    assert parsed.effective_artifact_type == "application/x-custom"


def test_index_children_are_listed():
    parsed = parse_manifest(
        _doc(mediaType=OCI_INDEX, manifests=[{"mediaType": OCI_MANIFEST, "digest": D1,
                                              "size": 3}]),
        OCI_INDEX,
    )
    assert [child.digest for child in parsed.children] == [D1]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (_doc(mediaType=OCI_MANIFEST), DOCKER_MANIFEST),
        (_doc(config={"mediaType": "x", "digest": D1, "size": 1}, layers=[]), DOCKER_MANIFEST),
        (_doc(mediaType=OCI_INDEX, manifests={}), OCI_INDEX),
        (_doc(mediaType=OCI_INDEX, manifests=[], layers=[]), OCI_INDEX),
        (b"null", OCI_MANIFEST),
        (_doc(config={"mediaType": "x", "digest": D1, "size": 1.5}, layers=[]), OCI_MANIFEST),
        (_doc(config={"mediaType": "x", "digest": D1, "size": 1}, layers=[],
              artifactType=""), OCI_MANIFEST),
    ],
)
def test_invalid_manifests(body, content_type):
    with pytest.raises(ManifestInvalid):
        parse_manifest(body, content_type)
