"""The audit pages' filters (the system log and a project's logs): which entries, in which
order, counted how far.

User, operation and resource type match exactly, each through an index that leads with it
(a substring of them would read every entry of a million-entry log); the resource matches a
substring through its trigram index. Filtered totals are counted up to ``COUNT_LIMIT``:
beyond that the page says "more than", and the oldest entries are one click away by
reversing the order rather than by a count of every match.
"""

from __future__ import annotations

from collections.abc import Callable

from harbor_twisted.db.listing import Filter, Listing, Sort
from harbor_twisted.portal.pages import paging

COUNT_LIMIT = 10_000
EXACT = ("username", "operation", "resource_type")
KEYS = (*EXACT, "resource")
ORDERS = {"newest": Sort("op_time", descending=True), "oldest": Sort("op_time")}
# Suggestions for the exact fields (what the services write); other values still filter.
OPERATIONS = ("create", "update", "delete", "pull", "stop", "login", "login_failed")
RESOURCE_TYPES = (
    "artifact", "tag", "repository", "project", "project_metadata", "project_member",
    "quota", "robot", "user", "user_group", "usergroup", "immutable_rule",
    "retention_policy", "retention_execution", "replication_policy",
    "replication_execution", "registry", "webhook_policy", "gc", "gc_schedule",
    "configuration",
)
SUGGESTIONS = {"OPERATIONS": OPERATIONS, "RESOURCE_TYPES": RESOURCE_TYPES}


def chosen_filters(arg: Callable[[str], str]) -> dict[str, str]:
    """The filter fields and the order as the page shows them again (``arg``: a query
    argument, "" when absent)."""
    chosen = {key: arg(key).strip() for key in KEYS}
    for key in ("operation", "resource_type"):  # the services write them in lower case
        chosen[key] = chosen[key].lower()
    chosen["order"] = arg("order") if arg("order") in ORDERS else "newest"
    return chosen


def audit_listing(chosen: dict[str, str], page: int) -> Listing:
    filters = tuple(Filter(key, "exact" if key in EXACT else "fuzzy", (chosen[key],))
                    for key in KEYS if chosen[key])
    return Listing(filters, (ORDERS[chosen["order"]],), page, paging.PAGE_SIZE,
                   count_limit=COUNT_LIMIT if filters else None)


def audit_pager(page: int, total: int) -> paging.Pager:
    return paging.Pager(page, total, counted_up_to=COUNT_LIMIT)
