"""Lists the Harbor way: ``q`` (``k=v``, ``k=~v`` fuzzy, ``k=[min~max]`` range,
``k={v1 v2}`` any of), ``sort`` (``k1,-k2``), ``page`` and ``page_size`` (10 by default,
100 at most); answers carry ``X-Total-Count`` and a ``Link`` to the previous and next page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlencode

from harbor_twisted.api.call import Call, Reply
from harbor_twisted.db.listing import Filter, Listing, Sort
from harbor_twisted.web.errors import bad_request

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
MAX_PAGE = 10**9


def _value(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _clause(key: str, value: str) -> Filter:
    if value.startswith("~"):
        if len(value) < 2:
            raise bad_request(f"q: {key}=~ needs something to match")
        return Filter(key, "fuzzy", (value[1:],))
    if value.startswith("["):
        if not value.endswith("]") or value.count("~") != 1:
            raise bad_request(f"q: range for {key} must look like [min~max]")
        low, high = (_value(part) for part in value[1:-1].split("~"))
        if not low and not high:
            raise bad_request(f"q: range for {key} needs a min or a max")
        return Filter(key, "range", (low, high))
    if value.startswith("{"):
        if not value.endswith("}"):
            raise bad_request(f"q: list for {key} must look like {{v1 v2}}")
        values = tuple(_value(v) for v in value[1:-1].split(" ") if v.strip())
        if not values:
            raise bad_request(f"q: list for {key} is empty")
        return Filter(key, "any", values)
    if value.startswith("("):
        raise bad_request(f"q: intersection lists (v1 v2) are not supported for {key}")
    if value.startswith("\\"):
        value = value[1:]  # Harbor's escape for a value starting with a pattern character
    return Filter(key, "exact", (_value(value),))


def parse_q(text: str) -> tuple[Filter, ...]:
    if not text:
        return ()
    text = unquote(text)  # Harbor decodes q once more: clients send q=name%3D~x encoded
    filters = []
    for part in text.split(","):
        key, separator, value = part.partition("=")
        key = key.strip()
        if not separator or not key or not value:
            raise bad_request('q: each clause must be key=value with neither part empty')
        filters.append(_clause(key, value))
    return tuple(filters)


def parse_sort(text: str) -> tuple[Sort, ...]:
    sorts = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        descending = part.startswith("-")
        key = part.lstrip("-+")
        if not key:
            raise bad_request("sort: each key must be a field name, - before it to reverse")
        sorts.append(Sort(key, descending))
    return tuple(sorts)


def page_of(call: Call) -> tuple[int, int]:
    return (
        call.int_arg("page", 1, 1, MAX_PAGE),
        call.int_arg("page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
    )


def listing_of(call: Call, extra: Sequence[Filter] = (), sortable: bool = True) -> Listing:
    page, page_size = page_of(call)
    filters = parse_q(call.arg("q") or "") + tuple(extra)
    sorts = parse_sort(call.arg("sort") or "") if sortable else ()
    return Listing(filters, sorts, page, page_size)


def _link(call: Call, page: int, page_size: int) -> str:
    args: list[tuple[str, str]] = []
    for name, values in call.request.args.items():
        if name in (b"page", b"page_size"):
            continue
        args.extend((name.decode("utf-8", "replace"), v.decode("utf-8", "replace"))
                    for v in values)
    args += [("page", str(page)), ("page_size", str(page_size))]
    return f"<{call.raw_path}?{urlencode(args)}>"


def paged(call: Call, items: list[Any], total: int, page: int, page_size: int) -> Reply:
    links = []
    if page > 1 and (page - 1) * page_size < total:
        links.append(_link(call, page - 1, page_size) + '; rel="prev"')
    if page * page_size < total:
        links.append(_link(call, page + 1, page_size) + '; rel="next"')
    headers = {"X-Total-Count": str(total)}
    if links:
        headers["Link"] = " , ".join(links)
    return Reply(200, items, headers=headers)
