"""Jinja2 templates shipped in the package, autoescaped; the page's shared values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from harbor_twisted.portal.pages import urls
from harbor_twisted.portal.pages.permissions import role_labels


def _size(value: int) -> str:
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.2f} {unit}"
        amount /= 1024
    return f"{value} B"


def _moment(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _timestamp(value: int) -> str:
    return datetime.fromtimestamp(value, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("harbor_twisted.portal", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["size"] = _size
    env.filters["moment"] = _moment
    env.filters["roles"] = role_labels
    env.filters["timestamp"] = _timestamp
    env.globals["urls"] = urls
    return env


ENVIRONMENT = _environment()


def render(template: str, values: dict[str, Any]) -> bytes:
    return ENVIRONMENT.get_template(template).render(**values).encode("utf-8")
