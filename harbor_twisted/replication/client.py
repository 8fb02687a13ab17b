"""A small, blocking OCI distribution client for the job threads.

It speaks the Docker token flow (401 challenge → ``GET realm`` with Basic credentials →
Bearer token, cached per scope), plain Basic auth, or no auth. Blob bodies are streamed:
callers read the response in pieces and never hold a whole blob.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

from harbor_twisted.common.outbound_tls import outbound_session

TIMEOUT = (10, 120)
MANIFEST_TYPES = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.artifact.manifest.v1+json",
))
_PARAM = re.compile(r'(\w+)="([^"]*)"')


class RegistryClientError(Exception):
    """The remote answered something we cannot go on with."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(_PARAM.findall(rest))


# Mints a bearer token for a list of scopes (the local registry signs its own).
TokenMinter = Callable[[list[str]], str]


class RegistryClient:
    def __init__(
        self,
        base_url: str,
        username: str = "",
        password: str = "",
        insecure: bool = False,
        minter: TokenMinter | None = None,
        trusted_ca_file: Path | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._basic = (username, password) if username else None
        self._minter = minter
        self.session = outbound_session(verify=not insecure, trusted_ca_file=trusted_ca_file)
        self._tokens: dict[str, str] = {}
        self._schemes: dict[str, str] = {}

    @property
    def basic_credentials(self) -> tuple[str, str] | None:
        """For the remote's REST API (Harbor endpoints); None without credentials."""
        return self._basic

    def __repr__(self) -> str:  # never shows credentials
        return f"RegistryClient({self.base_url!r})"

    def close(self) -> None:
        self.session.close()

    # -- authentication -------------------------------------------------------------------

    def _authorization(self, scope_key: str) -> dict[str, str]:
        if self._minter is not None:
            return {"Authorization": f"Bearer {self._minter(scope_key.split(' '))}"}
        token = self._tokens.get(scope_key)
        if token is not None:
            return {"Authorization": token}
        return {}

    def _authenticate(self, challenge: str, scopes: list[str]) -> None:
        scheme, params = parse_challenge(challenge)
        key = " ".join(scopes)
        if scheme == "basic":
            if self._basic is None:
                raise RegistryClientError("the registry wants credentials", 401)
            self._tokens[key] = requests.auth._basic_auth_str(*self._basic)
            return
        if scheme != "bearer" or "realm" not in params:
            raise RegistryClientError(f"unsupported authentication challenge {scheme!r}", 401)
        query: list[tuple[str, str]] = [("service", params.get("service", ""))]
        query += [("scope", scope) for scope in scopes if scope]
        response = self.session.get(params["realm"], params=query, auth=self._basic,
                                    timeout=TIMEOUT)
        if response.status_code != 200:
            raise RegistryClientError(
                f"token request failed with HTTP {response.status_code}", response.status_code)
        body = response.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryClientError("the token service answered without a token")
        self._tokens[key] = f"Bearer {token}"

    def request(
        self, method: str, path: str, scopes: list[str], ok: tuple[int, ...] = (200,),
        **kwargs: Any,
    ) -> requests.Response:
        """One call, authenticating on a 401 once; other statuses than ``ok`` raise."""
        key = " ".join(scopes)
        url = path if path.startswith("http") else self.base_url + path
        headers = dict(kwargs.pop("headers", None) or {})
        response = None
        for attempt in range(2):
            response = self.session.request(
                method, url, headers={**headers, **self._authorization(key)}, timeout=TIMEOUT,
                allow_redirects=True, **kwargs)
            if response.status_code != 401 or self._minter is not None or attempt:
                break
            challenge = response.headers.get("WWW-Authenticate", "")
            response.close()
            self._authenticate(challenge, scopes)
        assert response is not None
        if response.status_code not in ok:
            detail = response.text[:300] if not kwargs.get("stream") else ""
            response.close()
            raise RegistryClientError(
                f"{method} {path}: HTTP {response.status_code} {detail}".strip(),
                response.status_code)
        return response

    # -- operations -----------------------------------------------------------------------

    def ping(self) -> None:
        response = self.request("GET", "/v2/", [], ok=(200,))
        response.close()

    def catalog(self) -> list[str]:
        names: list[str] = []
        path = "/v2/_catalog?n=1000"
        while path:
            response = self.request("GET", path, ["registry:catalog:*"])
            names += response.json().get("repositories") or []
            path = _next_link(response)
        return names

    def tags(self, repository: str) -> list[str]:
        tags: list[str] = []
        path = f"/v2/{repository}/tags/list?n=1000"
        while path:
            response = self.request("GET", path, [f"repository:{repository}:pull"],
                                    ok=(200, 404))
            if response.status_code == 404:
                return []
            tags += response.json().get("tags") or []
            path = _next_link(response)
        return tags

    def get_manifest(self, repository: str, reference: str) -> tuple[bytes, str, str] | None:
        """Body, media type and digest, or None when absent."""
        response = self.request("GET", f"/v2/{repository}/manifests/{reference}",
                                [f"repository:{repository}:pull"], ok=(200, 404),
                                headers={"Accept": MANIFEST_TYPES})
        if response.status_code == 404:
            return None
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return response.content, media_type, response.headers.get("Docker-Content-Digest", "")

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        response = self.request("HEAD", f"/v2/{repository}/manifests/{reference}",
                                [f"repository:{repository}:pull"], ok=(200, 404),
                                headers={"Accept": MANIFEST_TYPES})
        if response.status_code == 404:
            return None
        return response.headers.get("Docker-Content-Digest")

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        response = self.request("PUT", f"/v2/{repository}/manifests/{reference}",
                                [f"repository:{repository}:pull,push"], ok=(201,), data=body,
                                headers={"Content-Type": media_type})
        return response.headers.get("Docker-Content-Digest", "")

    def delete_manifest(self, repository: str, reference: str) -> bool:
        response = self.request("DELETE", f"/v2/{repository}/manifests/{reference}",
                                [f"repository:{repository}:delete"], ok=(202, 404))
        return response.status_code == 202

    def referrers(self, repository: str, digest: str) -> list[dict[str, Any]]:
        response = self.request("GET", f"/v2/{repository}/referrers/{digest}",
                                [f"repository:{repository}:pull"],
                                ok=(200, 400, 404, 405))
        if response.status_code != 200:
            return []
        try:
            return list(response.json().get("manifests") or [])
        except ValueError:
            return []

    def has_blob(self, repository: str, digest: str) -> bool:
        response = self.request("HEAD", f"/v2/{repository}/blobs/{digest}",
                                [f"repository:{repository}:pull"], ok=(200, 404))
        return response.status_code == 200

    def open_blob(self, repository: str, digest: str) -> requests.Response:
        """A streaming response; the caller reads it in pieces and closes it."""
        return self.request("GET", f"/v2/{repository}/blobs/{digest}",
                            [f"repository:{repository}:pull"], stream=True)

    def mount_blob(self, repository: str, digest: str, source: str) -> str | None:
        """Mount from ``source`` in this registry: None when done, else the upload URL."""
        response = self.request(
            "POST", f"/v2/{repository}/blobs/uploads/?mount={digest}&from={source}",
            [f"repository:{repository}:pull,push", f"repository:{source}:pull"],
            ok=(201, 202))
        if response.status_code == 201:
            return None
        return self._location(response)

    def start_upload(self, repository: str) -> str:
        response = self.request("POST", f"/v2/{repository}/blobs/uploads/",
                                [f"repository:{repository}:pull,push"], ok=(202,))
        return self._location(response)

    def upload_chunks(
        self, repository: str, location: str, chunks: Iterator[bytes], digest: str
    ) -> None:
        """PATCH each chunk, then PUT ``?digest=``: memory holds one chunk at a time."""
        scopes = [f"repository:{repository}:pull,push"]
        offset = 0
        for chunk in chunks:
            response = self.request(
                "PATCH", location, scopes, ok=(202,), data=chunk,
                headers={"Content-Type": "application/octet-stream",
                         "Content-Range": f"{offset}-{offset + len(chunk) - 1}"})
            offset += len(chunk)
            location = self._location(response)
        separator = "&" if "?" in location else "?"
        self.request("PUT", f"{location}{separator}digest={digest}", scopes, ok=(201,),
                     headers={"Content-Length": "0"}, data=b"")

    def _location(self, response: requests.Response) -> str:
        location = response.headers.get("Location")
        if not location:
            raise RegistryClientError("upload answer without Location")
        if location.startswith("/"):
            return self.base_url + location
        return location


def _next_link(response: requests.Response) -> str:
    link = response.headers.get("Link", "")
    match = re.match(r'\s*<([^>]+)>\s*;\s*rel="?next"?', link)
    return match.group(1) if match else ""


def throttled(pieces: Iterator[bytes], kb_per_second: int) -> Iterator[bytes]:
    """Best-effort speed limit: sleep so that the average stays under the limit."""
    if kb_per_second <= 0:
        yield from pieces
        return
    started = time.monotonic()
    sent = 0
    for piece in pieces:
        yield piece
        sent += len(piece)
        ahead = sent / (kb_per_second * 1024) - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)
