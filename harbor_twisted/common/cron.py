"""Cron expressions the Harbor way: six fields, seconds first (``0 0 0 * * *`` is daily).

Five-field expressions (minutes first) are accepted too. Times are UTC.
"""

from __future__ import annotations

from datetime import datetime

from croniter import croniter

# Harbor's presets for its schedule types.
PRESETS = {"Hourly": "0 0 * * * *", "Daily": "0 0 0 * * *", "Weekly": "0 0 0 * * 0"}


class InvalidCron(ValueError):
    """Not a cron expression this scheduler understands."""


def _seconds_first(expression: str) -> bool:
    return len(expression.split()) == 6


def check_cron(expression: str) -> str:
    expression = " ".join(expression.split())
    fields = len(expression.split())
    if fields not in (5, 6) or not croniter.is_valid(
        expression, second_at_beginning=_seconds_first(expression)
    ):
        raise InvalidCron(f"invalid cron expression {expression!r} (six fields, seconds first)")
    return expression


def next_after(expression: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` matching ``expression``."""
    iterator = croniter(expression, after, second_at_beginning=_seconds_first(expression))
    return iterator.get_next(datetime)
