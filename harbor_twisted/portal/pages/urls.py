"""The portal's addresses, built in one place (templates use these as globals)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

PREFIX = "/harbor"
SIGN_IN = f"{PREFIX}/sign-in"
HOME = f"{PREFIX}/projects"


def _q(text: str, safe: str = "") -> str:
    return quote(text, safe=safe)


def sign_in(next_path: str = "") -> str:
    return f"{SIGN_IN}?{urlencode({'next': next_path})}" if next_path else SIGN_IN


def project(name: str, tab: str = "") -> str:
    base = f"{PREFIX}/projects/{_q(name)}"
    return f"{base}/{tab}" if tab else base


def repository(project_name: str, repository_name: str) -> str:
    """``repository_name`` is the name inside the project (it may hold slashes)."""
    return f"{project(project_name)}/repositories/{_q(repository_name, '/')}"


def artifact(project_name: str, repository_name: str, digest: str, tail: str = "") -> str:
    base = f"{repository(project_name, repository_name)}/-/artifacts/{_q(digest, ':')}"
    return f"{base}/{tail}" if tail else base


def tag(project_name: str, repository_name: str, digest: str, name: str, tail: str) -> str:
    return artifact(project_name, repository_name, digest, f"tags/{_q(name)}/{tail}")


def with_query(path: str, **values: object) -> str:
    kept = {k: v for k, v in values.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


def safe_next(text: str | None) -> str:
    """A local path to go back to after signing in; anything else (another site, a scheme,
    ``//host``, backslashes, control characters) leads home instead."""
    if not text or not text.startswith("/") or text.startswith("//"):
        return HOME
    if "\\" in text or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        return HOME
    return text


def page(path: str) -> str:
    """A decoded page path (below ``/harbor``) as an address again."""
    return PREFIX + _q(path, "/:@")
