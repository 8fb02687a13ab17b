"""One API request as the endpoints see it (``Call``), what they answer (``Reply``) and
typed reading of JSON bodies (``Fields``) with clear 400s."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from twisted.web.iweb import IRequest

from harbor_twisted.core.audit import Actor
from harbor_twisted.core.projects import ProjectRef
from harbor_twisted.core.rbac import Principal
from harbor_twisted.web.errors import ApiError, bad_request

MAX_BODY = 1024 * 1024
_ABSENT = object()


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # anything json.dumps takes; None sends no body
    text: str | None = None  # a text/plain body instead
    data: bytes | None = None  # raw bytes instead (a download): headers name their type
    headers: dict[str, str] = field(default_factory=dict)


def no_nul(text: str, what: str) -> str:
    """NUL characters are refused: PostgreSQL cannot store them in text."""
    if "\x00" in text:
        raise bad_request(f"{what} must not contain NUL characters")
    return text


class Fields:
    """A JSON object's members, read by type; ``null`` counts as absent."""

    def __init__(self, data: dict[str, Any], prefix: str = "") -> None:
        self.data = data
        self.prefix = prefix

    def _get(self, key: str, required: bool) -> Any:
        value = self.data.get(key)
        if value is None:
            if required:
                raise bad_request(f"{self.prefix}{key} is required")
            return _ABSENT
        return value

    def _wrong(self, key: str, kind: str) -> ApiError:
        return bad_request(f"{self.prefix}{key} must be {kind}")

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def string(self, key: str, required: bool = False) -> str | None:
        value = self._get(key, required)
        if value is _ABSENT:
            return None
        if not isinstance(value, str):
            raise self._wrong(key, "a string")
        return no_nul(value, f"{self.prefix}{key}")

    def integer(self, key: str, required: bool = False) -> int | None:
        value = self._get(key, required)
        if value is _ABSENT:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(key, "an integer")
        if not -(2**63) <= value < 2**63:
            raise self._wrong(key, "a 64-bit integer")
        return value

    def boolean(self, key: str, required: bool = False) -> bool | None:
        value = self._get(key, required)
        if value is _ABSENT:
            return None
        if not isinstance(value, bool):
            raise self._wrong(key, "true or false")
        return value

    def object(self, key: str, required: bool = False) -> Fields | None:
        value = self._get(key, required)
        if value is _ABSENT:
            return None
        if not isinstance(value, dict):
            raise self._wrong(key, "an object")
        return Fields(value, f"{self.prefix}{key}.")


class Call:
    def __init__(
        self, request: IRequest, params: dict[str, str], principal: Principal, client_ip: str
    ) -> None:
        self.request = request
        self.params = params
        self.principal = principal
        self.client_ip = client_ip
        self._json: Any = _ABSENT

    @property
    def actor(self) -> Actor:
        return Actor(self.principal, self.client_ip)

    @property
    def raw_path(self) -> str:
        return self.request.path.decode("ascii", "replace")

    # -- query and headers ---------------------------------------------------------------

    def arg(self, name: str) -> str | None:
        values = self.request.args.get(name.encode())
        if not values:
            return None
        try:
            return no_nul(values[0].decode("utf-8"), f"query parameter {name}")
        except UnicodeDecodeError:
            raise bad_request(f"query parameter {name} is not valid UTF-8") from None

    def int_arg(self, name: str, default: int, minimum: int, maximum: int) -> int:
        text = self.arg(name)
        if text is None or text == "":
            return default
        try:
            value = int(text)
        except ValueError:
            raise bad_request(f"{name} must be an integer") from None
        if not minimum <= value <= maximum:
            raise bad_request(f"{name} must be between {minimum} and {maximum}")
        return value

    def bool_arg(self, name: str) -> bool | None:
        text = self.arg(name)
        if text is None or text == "":
            return None
        if text.lower() not in ("true", "false", "1", "0"):
            raise bad_request(f"{name} must be true or false")
        return text.lower() in ("true", "1")

    def header(self, name: str) -> str | None:
        value = self.request.getHeader(name)
        if isinstance(value, bytes):
            return value.decode("latin-1")
        return value

    def header_flag(self, name: str) -> bool:
        return (self.header(name) or "").strip().lower() == "true"

    # -- path parameters -----------------------------------------------------------------

    def int_param(self, name: str) -> int:
        text = self.params[name]
        if not text.isdecimal() or len(text) > 18:  # not isdigit(): int() refuses "²"
            raise bad_request(f"{name} must be a positive integer")
        return int(text)

    def project_ref(self, name: str = "project") -> ProjectRef:
        return ProjectRef(self.params[name], self.header_flag("X-Is-Resource-Name"))

    # -- body ----------------------------------------------------------------------------

    def json(self) -> Any:
        """The parsed body; None when there is none."""
        if self._json is _ABSENT:
            self._json = _parse_json(self.request)
        return self._json

    def body(self, required: bool = True) -> Fields:
        """The body as a JSON object."""
        data = self.json()
        if data is None:
            if required:
                raise bad_request("a JSON object body is required")
            data = {}
        if not isinstance(data, dict):
            raise bad_request("the body must be a JSON object")
        return Fields(data)


def _parse_json(request: IRequest) -> Any:
    content = request.content
    if content is None:
        return None
    content.seek(0)
    raw = content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise ApiError(413, f"the request body exceeds {MAX_BODY} bytes")
    if not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad_request("the body is not valid UTF-8") from None
    except ValueError as error:
        raise bad_request(f"the body is not valid JSON: {error}") from None
    except RecursionError:
        raise bad_request("the body nests too deeply") from None
