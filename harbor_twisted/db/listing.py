"""Listing queries every store shares: Harbor's ``q`` filters, sorting and paging
(``listed``), and the "held by this user or one of its groups" condition."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    DateTime,
    Integer,
    Select,
    String,
    and_,
    false,
    func,
    or_,
    select,
    true,
)

from harbor_twisted.db.identity_models import (
    project_member,
)


class ListingError(ValueError):
    """A filter or sort key a listing does not know, or a value of the wrong type."""


MAX_ID = 2**31 - 1


def valid_id(value: int | None) -> bool:
    return value is not None and 0 < value <= MAX_ID


@dataclass(frozen=True)
class Filter:
    """One clause of Harbor's ``q``: ``exact`` and ``fuzzy`` hold one value, ``range`` holds
    (low, high) with "" for an open end, ``any`` holds the alternatives."""

    key: str
    kind: str  # exact | fuzzy | range | any
    values: tuple[str, ...]


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool = False


@dataclass(frozen=True)
class Listing:
    filters: tuple[Filter, ...] = ()
    sorts: tuple[Sort, ...] = ()
    page: int = 1
    page_size: int = 10
    # Count at most this many matches (None: all). A larger result is reported as
    # ``count_limit + 1`` ("more than"): counting a million matches of a filter costs more
    # than the page, and a person does not page through them (the portal's audit pages).
    count_limit: int | None = None


def _parse_time(text: str) -> datetime:
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)  # also takes "2020-04-09 02:36:00" and dates
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _coerce(key: str, column: ColumnElement[Any], text: str) -> Any:
    kind = column.type
    try:
        if isinstance(kind, Boolean):
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError(text)
            return lowered in ("true", "1")
        if isinstance(kind, Integer):
            number = int(text)
            if not -MAX_ID - 1 <= number <= MAX_ID:
                raise ValueError(text)
            return number
        if isinstance(kind, DateTime):
            return _parse_time(text)
    except (ValueError, OverflowError):
        raise ListingError(f"{key}: {text!r} is not a valid value") from None
    return text


def _condition(column: ColumnElement[Any], flt: Filter) -> ColumnElement[bool]:
    if flt.kind == "fuzzy":
        if not isinstance(column.type, String):
            raise ListingError(f"{flt.key}: fuzzy match (~) works on text fields only")
        return column.icontains(flt.values[0], autoescape=True)
    if flt.kind == "range":
        low, high = flt.values
        parts = []
        if low:
            parts.append(column >= _coerce(flt.key, column, low))
        if high:
            parts.append(column <= _coerce(flt.key, column, high))
        return and_(true(), *parts)
    if flt.kind == "any":
        return column.in_([_coerce(flt.key, column, v) for v in flt.values])
    return column == _coerce(flt.key, column, flt.values[0])


def listed(
    conn: Connection,
    stmt: Select[Any],
    columns: dict[str, ColumnElement[Any]],
    listing: Listing,
    tiebreak: ColumnElement[Any],
    default: tuple[Sort, ...] = (),
    hidden: tuple[ColumnElement[bool], ...] = (),
    total: int | None = None,
) -> tuple[list[Any], int]:
    """Apply a listing's filters, sorts and page to ``stmt``; rows of the page and the total.

    A page in the second half is read from the other end, in the reverse order, so the last
    page costs what the first does (the tiebreak makes the order total, so reversing it is
    exact); a page beyond the end costs only the count. Rows matching any of ``hidden``
    (each a few rows found by an index) are left out and counted as all rows less the
    hidden ones, which spares testing every row. A ``total`` known otherwise (kept counts)
    spares the count. When a count stops at ``count_limit``, the total is ``count_limit + 1``
    and pages are read forward only (where the end is, is not known)."""
    for flt in listing.filters:
        if flt.key not in columns:
            raise ListingError(f"unknown query key {flt.key!r} (known: {', '.join(columns)})")
        stmt = stmt.where(_condition(columns[flt.key], flt))
    sorts = listing.sorts or default
    keys: list[tuple[ColumnElement[Any], bool]] = []
    for sort in sorts:
        if sort.key not in columns:
            raise ListingError(f"unknown sort key {sort.key!r} (known: {', '.join(columns)})")
        keys.append((columns[sort.key], sort.descending))
    last_descending = bool(sorts) and sorts[-1].descending
    keys.append((tiebreak, last_descending))  # stable pages
    capped = False
    if total is None:
        limit = None if hidden else listing.count_limit
        counted = stmt if limit is None else stmt.limit(limit + 1)
        total = conn.execute(select(func.count()).select_from(counted.subquery())).scalar_one()
        capped = limit is not None and total > limit
    offset = (listing.page - 1) * listing.page_size
    if capped:
        order = [c.desc() if descending else c.asc() for c, descending in keys]
        page = stmt.order_by(*order).offset(offset).limit(listing.page_size)
        return list(conn.execute(page).all()), total
    if hidden:
        total -= count_any(conn, stmt, hidden)
        stmt = stmt.where(~or_(*hidden))
    if offset >= total:
        return [], total
    size = min(listing.page_size, total - offset)
    reverse = offset > (total - size) // 2
    if reverse:
        offset = total - offset - size
    order = [c.asc() if descending == reverse else c.desc() for c, descending in keys]
    rows = list(conn.execute(stmt.order_by(*order).offset(offset).limit(size)).all())
    return rows[::-1] if reverse else rows, total


def count_any(conn: Connection, stmt: Select[Any],
              conditions: tuple[ColumnElement[bool], ...]) -> int:
    """Rows of ``stmt`` matching any of ``conditions``, each counted through its own index
    (inclusion-exclusion): one count over their OR would test every row (SQLite)."""
    total = 0
    for size in range(1, len(conditions) + 1):
        for chosen in combinations(conditions, size):
            counted = conn.execute(
                select(func.count()).select_from(stmt.where(*chosen).subquery())
            ).scalar_one()
            total += counted if size % 2 else -counted
    return total


def held_by(user_id: int | None, group_ids: frozenset[int]) -> ColumnElement[bool]:
    """Membership rows of the user, directly or through one of their groups."""
    conditions = []
    if user_id is not None:
        conditions.append(
            (project_member.c.entity_type == "u") & (project_member.c.entity_id == user_id)
        )
    if group_ids:
        conditions.append(
            (project_member.c.entity_type == "g")
            & project_member.c.entity_id.in_(sorted(group_ids))
        )
    return or_(false(), *conditions)


def user_or_member_of(
    user_id: int | None, group_ids: frozenset[int], roles: frozenset[int]
) -> Select[Any]:
    """Ids of projects where the user, directly or through a group, holds one of ``roles``."""
    return select(project_member.c.project_id).where(
        held_by(user_id, group_ids), project_member.c.role_id.in_(sorted(roles))
    )


def name_prefix(conn: Connection, column: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, as a range of the name index on SQLite (whose LIKE
    ignores case and so cannot use it; its text order is byte order, which makes the range
    exact), as LIKE elsewhere (whose collation need not be byte order)."""
    if conn.dialect.name == "sqlite" and prefix:
        following = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return and_(column >= prefix, column < following)
    return column.startswith(prefix, autoescape=True)
