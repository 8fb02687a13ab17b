"""What the portal reads from a twisted.web request: the form, the query, the address docker
should use, and the one-shot flash cookie. Kept apart so the page handlers never see
twisted.web."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

from twisted.web.iweb import IRequest

from harbor_twisted.common.client_address import from_trusted_proxy
from harbor_twisted.config import Config
from harbor_twisted.portal.pages.context import Flash

MAX_FORM = 64 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
FLASH_COOKIE = "harbor_flash"


class BadForm(ValueError):
    """The body is not a form this portal sends."""


def _text(value: bytes) -> str:
    text = value.decode("utf-8")
    if "\x00" in text:
        raise UnicodeDecodeError("utf-8", value, 0, 1, "NUL character")
    return text


def query(request: IRequest) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, found in (request.args or {}).items():
        try:
            values[_text(name)] = _text(found[0]) if found else ""
        except UnicodeDecodeError:
            continue  # a field that is not text is simply not there
    return values


def form(request: IRequest) -> dict[str, str]:
    """The urlencoded body's fields (first value of each)."""
    content_type = (request.getHeader("content-type") or "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise BadForm(f"send the form as {FORM_TYPE}")
    raw = b""
    if request.content is not None:
        request.content.seek(0)
        raw = request.content.read(MAX_FORM + 1)
    if len(raw) > MAX_FORM:
        raise BadForm(f"the form exceeds {MAX_FORM} bytes")
    try:
        fields = parse_qs(_text(raw), keep_blank_values=True, max_num_fields=32)
    except (UnicodeDecodeError, ValueError):
        raise BadForm("the form is not UTF-8 urlencoded data") from None
    return {name: found[0] for name, found in fields.items()}


def registry_host(config: Config, request: IRequest) -> str:
    """``host[:port]`` as docker names this registry: the external URL's, a trusted
    proxy's ``X-Forwarded-Host``, else the request's ``Host``."""
    if config.external_url:
        return urlsplit(config.external_url).netloc
    forwarded = request.getHeader("x-forwarded-host")
    if forwarded and from_trusted_proxy(config, request):
        return forwarded.split(",")[0].strip()
    host = request.getHeader("host")
    return host.decode("latin-1") if isinstance(host, bytes) else (host or "localhost")


def encode_flash(flash: Flash) -> str:
    data = json.dumps({"kind": flash.kind, "text": flash.text[:500]}).encode()
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def read_flash(request: IRequest) -> Flash | None:
    value = request.getCookie(FLASH_COOKIE.encode())
    if not value:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(value + b"=" * (-len(value) % 4)))
        kind, text = data["kind"], data["text"]
    except (ValueError, KeyError, TypeError):
        return None
    if kind not in ("notice", "error") or not isinstance(text, str):
        return None
    return Flash(kind, text)


def same_origin(config: Config, request: IRequest) -> bool:
    """The browser's ``Origin`` (when it sends one) names the host it asked: ``Host``, or
    a trusted proxy's ``X-Forwarded-Host``."""
    origin = request.getHeader("origin")
    if origin is None:
        return True
    asked = {request.getHeader("host") or ""}
    forwarded = request.getHeader("x-forwarded-host")
    if forwarded and from_trusted_proxy(config, request):
        asked.add(forwarded.split(",")[0].strip())
    return urlsplit(origin).netloc in asked - {""}
