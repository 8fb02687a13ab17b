"""A requests auth handler that speaks the Docker token flow, as docker and skopeo do.

It derives the scope from the URL (the repository in a /v2/ path, the catalog), fetches a
token from the realm with Basic credentials once per scope, and sends it as a Bearer token,
so streamed request bodies never need a retry.
"""

from __future__ import annotations

import re
import threading
import time
from urllib.parse import parse_qs, urlsplit

import requests

_REPOSITORY = re.compile(r"^/v2/(?P<name>.+?)/(?:blobs|manifests|tags|referrers)/")


def scope_for(path: str, query: str = "", actions: str = "pull,push,delete") -> str | None:
    """The scope a request needs; a cross-repository mount also needs pull on its source."""
    if path.startswith("/v2/_catalog"):
        return "registry:catalog:*"
    match = _REPOSITORY.match(path)
    if not match:
        return None
    scope = f"repository:{match['name']}:{actions}"
    source = parse_qs(query).get("from")
    if source:
        scope += f" repository:{source[0]}:pull"
    return scope


class TokenAuth(requests.auth.AuthBase):
    def __init__(self, base_url: str, username: str | None, password: str | None,
                 service: str = "harbor-registry") -> None:
        self.base_url = base_url
        self.username = username
        self.password = password
        self.service = service
        self._tokens: dict[str | None, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def token(self, scope: str | None) -> str:
        with self._lock:
            cached = self._tokens.get(scope)
            if cached and cached[1] > time.monotonic():
                return cached[0]
        params: dict[str, object] = {"service": self.service}
        if scope:
            params["scope"] = scope.split(" ")
        credentials = (self.username, self.password) if self.username else None
        response = requests.get(f"{self.base_url}/service/token", params=params,
                                auth=credentials, timeout=30)
        response.raise_for_status()
        body = response.json()
        token = body["token"]
        with self._lock:
            self._tokens[scope] = (token, time.monotonic() + body["expires_in"] - 30)
        return token

    def header_for(self, path: str, query: str = "") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(scope_for(path, query))}"}

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        parts = urlsplit(request.url)
        if parts.path.startswith("/v2"):
            request.headers.update(self.header_for(parts.path, parts.query))
        return request
