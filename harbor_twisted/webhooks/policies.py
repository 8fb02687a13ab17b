"""Harbor's ``WebhookPolicy`` body, checked: which event types and targets are supported,
and how a target's write-only ``auth_header`` is carried to the secrets directory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from harbor_twisted.common.webhook_secrets import MAX_TARGETS
from harbor_twisted.core.errors import Invalid
from harbor_twisted.db import event_store
from harbor_twisted.db.webhook_store import Policy, Target

EVENT_TYPES = (event_store.PUSH_ARTIFACT, event_store.PULL_ARTIFACT,
               event_store.DELETE_ARTIFACT, event_store.REPLICATION, event_store.QUOTA_EXCEED,
               event_store.TAG_RETENTION)
DEFAULT_FORMAT = "Default"
CLOUD_EVENTS = "CloudEvents"
PAYLOAD_FORMATS: dict[str, tuple[str, ...]] = {"http": (DEFAULT_FORMAT, CLOUD_EVENTS),
                                               "slack": (DEFAULT_FORMAT,)}
NAME_MAX = 255
ADDRESS_MAX = 1024
AUTH_HEADER_MAX = 4096


@dataclass(frozen=True)
class PolicyInput:
    """Checked policy values; ``auth_headers[i]`` is the header of target ``i``: a new
    value, "" for none, or None to keep what target ``i`` had."""

    values: dict[str, Any]
    auth_headers: list[str | None]


def _text(data: dict[str, Any], key: str, what: str, maximum: int) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or "\x00" in value or len(value) > maximum:
        raise Invalid(f"{what} must be a string of at most {maximum} characters")
    return value


def _flag(data: dict[str, Any], key: str, what: str) -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise Invalid(f"{what} must be true or false")
    return value


def check_address(address: str) -> str:
    try:
        parts = urlsplit(address)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:  # a broken [IPv6] host or port
        raise Invalid("address must be an http:// or https:// URL") from None
    if (parts.scheme not in ("http", "https") or not parts.hostname
            or any(c.isspace() or ord(c) < 32 for c in address)):
        raise Invalid("address must be an http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        # the address is stored and shown as given: credentials belong in auth_header,
        # which is kept only in the secrets directory
        raise Invalid("address must not hold user:password; put credentials in auth_header")
    return address


def _target(data: Any, where: str) -> tuple[Target, str | None]:
    if not isinstance(data, dict):
        raise Invalid(f"{where} must be an object")
    kind = _text(data, "type", f"{where}.type", 16) or "http"
    if kind not in PAYLOAD_FORMATS:
        raise Invalid(f"{where}.type must be one of {', '.join(PAYLOAD_FORMATS)}")
    address = _text(data, "address", f"{where}.address", ADDRESS_MAX)
    if not address:
        raise Invalid(f"{where}.address is required")
    payload_format = _text(data, "payload_format", f"{where}.payload_format", 32)
    payload_format = payload_format or DEFAULT_FORMAT
    if payload_format not in PAYLOAD_FORMATS[kind]:
        raise Invalid(f"{where}.payload_format must be one of "
                      f"{', '.join(PAYLOAD_FORMATS[kind])} for {kind} targets")
    header = _text(data, "auth_header", f"{where}.auth_header", AUTH_HEADER_MAX)
    if header is not None and ("\r" in header or "\n" in header):
        raise Invalid(f"{where}.auth_header must be a single line")
    skip = _flag(data, "skip_cert_verify", f"{where}.skip_cert_verify")
    target = Target(kind, check_address(address), bool(skip), payload_format,
                    has_auth_header=False)  # settled by the caller, which knows the old one
    return target, None if header is None else header.strip()


def _event_types(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise Invalid("event_types must be a non-empty list")
    unknown = [v for v in value if v not in EVENT_TYPES]
    if unknown:
        raise Invalid(f"unsupported event type {str(unknown[0])[:64]!r}; supported: "
                      f"{', '.join(EVENT_TYPES)}")
    return sorted(set(value), key=EVENT_TYPES.index)


def _targets(value: Any) -> tuple[list[Target], list[str | None]]:
    if not isinstance(value, list) or not value:
        raise Invalid("targets must be a non-empty list")
    if len(value) > MAX_TARGETS:
        raise Invalid(f"a policy has at most {MAX_TARGETS} targets")
    checked = [_target(item, f"targets[{i}]") for i, item in enumerate(value)]
    return [t for t, _ in checked], [h for _, h in checked]


def check_policy(data: Any, existing: Policy | None = None) -> PolicyInput:
    """A new policy (``existing`` None) or the changes to one: members left out keep their
    values, as a target's ``auth_header`` left out keeps the header of the same position."""
    if not isinstance(data, dict):
        raise Invalid("the body must be a JSON object")
    name = _text(data, "name", "name", NAME_MAX)
    if existing is None and not (name or "").strip():
        raise Invalid("name is required")
    if name is not None and not name.strip():
        raise Invalid("name must not be empty")
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = name
    description = _text(data, "description", "description", 4096)
    if description is not None or existing is None:
        values["description"] = description or ""
    enabled = _flag(data, "enabled", "enabled")
    if enabled is not None or existing is None:
        values["enabled"] = True if enabled is None else enabled
    if data.get("event_types") is not None or existing is None:
        values["event_types"] = _event_types(data.get("event_types"))
    headers: list[str | None] = []
    if data.get("targets") is not None or existing is None:
        values["targets"], headers = _targets(data.get("targets"))
    return PolicyInput(values, headers)
