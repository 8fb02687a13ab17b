"""Reading statement results the same way in every store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key an INSERT of one row created."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the statement inserted no row")
    return int(key[0])
