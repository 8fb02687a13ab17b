"""A small typed HTTP client for the OCI distribution API, used by the conformance tests.

Everything here is plain `requests`; the helpers only build URLs, send requests and describe
responses for assertion messages.  Helpers whose name starts with ``ensure_`` are meant for
fixtures: they assert that a set-up step worked, so a broken set-up shows up as an error that
names the failing request.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests

API_VERSION_HEADER = "Docker-Distribution-API-Version"
API_VERSION = "registry/2.0"

MT_OCTET = "application/octet-stream"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_OCI_LAYER_ND = "application/vnd.oci.image.layer.nondistributable.v1.tar"
MT_OCI_LAYER_ND_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
MT_OCI_EMPTY = "application/vnd.oci.empty.v1+json"

MANIFEST_ACCEPT = f"{MT_OCI_INDEX}, {MT_OCI_MANIFEST}"

# The error codes the OCI distribution spec defines (the conformance suite's list, plus
# TOOMANYREQUESTS from spec v1.1).
OCI_ERROR_CODES = frozenset(
    {
        "BLOB_UNKNOWN",
        "BLOB_UPLOAD_INVALID",
        "BLOB_UPLOAD_UNKNOWN",
        "DIGEST_INVALID",
        "MANIFEST_BLOB_UNKNOWN",
        "MANIFEST_INVALID",
        "MANIFEST_UNKNOWN",
        "MANIFEST_UNVERIFIED",
        "NAME_INVALID",
        "NAME_UNKNOWN",
        "SIZE_INVALID",
        "TAG_INVALID",
        "UNAUTHORIZED",
        "DENIED",
        "UNSUPPORTED",
        "TOOMANYREQUESTS",
    }
)

# The digest of the two-byte blob "{}" (the OCI empty descriptor), as the suite pins it.
EMPTY_JSON_SHA256 = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


def digest_of(data: bytes, algo: str = "sha256") -> str:
    """The OCI digest string of ``data`` with the given algorithm (sha256 or sha512)."""
    return f"{algo}:{hashlib.new(algo, data).hexdigest()}"


def unique_repo(prefix: str) -> str:
    """A repository name nobody else uses on the shared test server."""
    return f"library/conformance/{prefix}-{secrets.token_hex(4)}"


def with_query(url: str, params: Mapping[str, str]) -> str:
    """Add query parameters to a URL that may already carry some (upload URLs often do)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def describe(resp: requests.Response) -> str:
    """One paragraph about a response, for assertion messages."""
    req = resp.request
    body = resp.content[:400] if req.method != "HEAD" else b""
    interesting = {
        k: v
        for k, v in resp.headers.items()
        if k.lower()
        in {
            "location",
            "range",
            "content-type",
            "content-length",
            "content-range",
            "docker-content-digest",
            "oci-subject",
            "oci-filters-applied",
            "link",
            "docker-upload-uuid",
        }
    }
    return f"{req.method} {req.url} -> {resp.status_code} {interesting} {body!r}"


def error_codes(resp: requests.Response) -> list[str]:
    """The codes of an OCI error body, asserting the body has the spec's shape."""
    try:
        doc = resp.json()
    except ValueError as exc:
        raise AssertionError(f"error body is not JSON: {describe(resp)}") from exc
    assert isinstance(doc, dict), describe(resp)
    errors = doc.get("errors")
    assert isinstance(errors, list), f"no 'errors' list: {describe(resp)}"
    assert errors, f"empty 'errors' list: {describe(resp)}"
    codes: list[str] = []
    for entry in errors:
        assert isinstance(entry, dict), describe(resp)
        assert isinstance(entry.get("code"), str), f"error without code: {describe(resp)}"
        assert isinstance(entry.get("message", ""), str), describe(resp)
        codes.append(entry["code"])
    return codes


def assert_oci_error(resp: requests.Response, status: int, *codes: str) -> None:
    """Assert the status and that the first error code is one of ``codes`` (or any OCI code)."""
    assert resp.status_code == status, describe(resp)
    found = error_codes(resp)
    allowed = set(codes) if codes else OCI_ERROR_CODES
    assert found[0] in allowed, f"code {found[0]} not in {sorted(allowed)}: {describe(resp)}"


class OciClient:
    """Requests against one registry, relative to its base URL."""

    def __init__(self, base_url: str, auth: requests.auth.AuthBase | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.http.auth = auth

    def close(self) -> None:
        self.http.close()

    # -- plumbing ---------------------------------------------------------------------------

    def absolute(self, location: str) -> str:
        """Resolve a Location header (absolute or relative) against the registry."""
        return urljoin(self.base_url + "/", location)

    def request(
        self,
        method: str,
        target: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
    ) -> requests.Response:
        url = target if target.startswith(("http://", "https://")) else self.base_url + target
        if params:
            url = with_query(url, params)
        return self.http.request(
            method,
            url,
            headers=dict(headers or {}),
            data=data,
            allow_redirects=method == "GET",
            timeout=60,
        )

    # -- blobs -----------------------------------------------------------------------------

    def blob(
        self,
        repo: str,
        digest: str,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return self.request(method, f"/v2/{repo}/blobs/{digest}", headers=headers)

    def start_upload(
        self,
        repo: str,
        params: Mapping[str, str] | None = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return self.request(
            "POST", f"/v2/{repo}/blobs/uploads/", params=params, headers=headers, data=data
        )

    def upload_url(self, resp: requests.Response, params: Mapping[str, str] | None = None) -> str:
        """The absolute upload URL from a response's Location, with extra query parameters."""
        location = resp.headers.get("Location")
        assert location, f"no Location header: {describe(resp)}"
        url = self.absolute(location)
        return with_query(url, params) if params else url

    def upload_url_with_digest(self, url: str, digest: str) -> str:
        return with_query(url, {"digest": digest})

    def patch_chunk(
        self, url: str, chunk: bytes, start: int | None = None, method: str = "PATCH"
    ) -> requests.Response:
        """Send a chunk; with ``start`` it carries ``Content-Range: start-end``."""
        headers = {"Content-Type": MT_OCTET}
        if start is not None:
            headers["Content-Range"] = f"{start}-{start + len(chunk) - 1}"
        return self.request(method, url, headers=headers, data=chunk)

    def finish_upload(
        self, url: str, digest: str, data: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> requests.Response:
        all_headers = {"Content-Type": MT_OCTET, **(headers or {})}
        return self.request(
            "PUT", with_query(url, {"digest": digest}), headers=all_headers, data=data
        )

    def push_blob(self, repo: str, data: bytes, digest: str) -> requests.Response:
        """POST then monolithic PUT; returns the PUT answer (or the POST one if it failed)."""
        started = self.start_upload(repo)
        if started.status_code != 202 or "Location" not in started.headers:
            return started
        return self.finish_upload(self.upload_url(started), digest, data)

    def ensure_blob(self, repo: str, data: bytes, digest: str) -> None:
        resp = self.push_blob(repo, data, digest)
        assert resp.status_code == 201, f"set-up blob push failed: {describe(resp)}"

    def delete_blob(self, repo: str, digest: str) -> requests.Response:
        return self.blob(repo, digest, method="DELETE")

    # -- manifests ---------------------------------------------------------------------------

    def manifest(
        self, repo: str, reference: str, method: str = "GET", accept: str = MANIFEST_ACCEPT
    ) -> requests.Response:
        return self.request(method, f"/v2/{repo}/manifests/{reference}", headers={"Accept": accept})

    def put_manifest(
        self, repo: str, reference: str, body: bytes, media_type: str = MT_OCI_MANIFEST
    ) -> requests.Response:
        return self.request(
            "PUT",
            f"/v2/{repo}/manifests/{reference}",
            headers={"Content-Type": media_type},
            data=body,
        )

    def ensure_manifest(
        self, repo: str, reference: str, body: bytes, media_type: str = MT_OCI_MANIFEST
    ) -> requests.Response:
        resp = self.put_manifest(repo, reference, body, media_type)
        assert resp.status_code == 201, f"set-up manifest push failed: {describe(resp)}"
        return resp

    def delete_manifest(self, repo: str, reference: str) -> requests.Response:
        return self.request("DELETE", f"/v2/{repo}/manifests/{reference}")

    # -- discovery -------------------------------------------------------------------------

    def tags(self, repo: str, params: Mapping[str, str] | None = None) -> requests.Response:
        return self.request("GET", f"/v2/{repo}/tags/list", params=params)

    def tag_names(self, repo: str, params: Mapping[str, str] | None = None) -> list[str]:
        resp = self.tags(repo, params)
        assert resp.status_code == 200, describe(resp)
        return list(resp.json().get("tags") or [])

    def referrers(
        self, repo: str, digest: str, artifact_type: str | None = None
    ) -> requests.Response:
        params = {"artifactType": artifact_type} if artifact_type is not None else None
        return self.request("GET", f"/v2/{repo}/referrers/{digest}", params=params)


def referrers_index(resp: requests.Response) -> dict[str, Any]:
    """Assert a referrers answer is a 200 OCI image index and return it."""
    assert resp.status_code == 200, describe(resp)
    content_type = resp.headers.get("Content-Type", "").split(";")[0].strip()
    assert content_type == MT_OCI_INDEX, describe(resp)
    doc = json.loads(resp.content)
    assert doc.get("schemaVersion") == 2, describe(resp)
    assert doc.get("mediaType") == MT_OCI_INDEX, describe(resp)
    assert isinstance(doc.get("manifests"), list), describe(resp)
    return doc


def media_type_of(resp: requests.Response) -> str:
    return resp.headers.get("Content-Type", "").split(";")[0].strip()


def assert_digest_header(resp: requests.Response, digest: str) -> None:
    """The suite checks Docker-Content-Digest only when the registry sends it."""
    header = resp.headers.get("Docker-Content-Digest")
    if header:
        assert header == digest, describe(resp)


def assert_manifest_answer(
    resp: requests.Response, body: bytes, media_type: str, method: str = "GET"
) -> None:
    """A 200 for a manifest GET/HEAD: type, length, digest header, and the exact bytes."""
    assert resp.status_code == 200, describe(resp)
    assert_digest_header(resp, digest_of(body, digest_algorithm_of(resp, body)))
    assert media_type_of(resp) == media_type, describe(resp)
    assert resp.headers.get("Content-Length") == str(len(body)), describe(resp)
    assert resp.content == (body if method == "GET" else b""), describe(resp)


def assert_blob_answer(
    resp: requests.Response, data: bytes, digest: str, method: str = "GET"
) -> None:
    """A 200 for a blob GET/HEAD: length, digest header, and the exact bytes."""
    assert resp.status_code == 200, describe(resp)
    assert_digest_header(resp, digest)
    assert resp.headers.get("Content-Length") == str(len(data)), describe(resp)
    assert resp.content == (data if method == "GET" else b""), describe(resp)


def digest_algorithm_of(resp: requests.Response, body: bytes) -> str:
    """The algorithm of the digest the request named (manifests pushed as sha512 stay sha512)."""
    reference = resp.request.path_url.split("?")[0].rsplit("/", 1)[-1]
    algo = reference.split(":")[0] if ":" in reference else "sha256"
    return algo if algo in ("sha256", "sha512") else "sha256"
