"""Page numbers for the portal's lists."""

from __future__ import annotations

from dataclasses import dataclass

from harbor_twisted.db.listing import Filter, Listing, Sort

PAGE_SIZE = 15


@dataclass(frozen=True)
class Pager:
    page: int
    total: int
    page_size: int = PAGE_SIZE
    counted_up_to: int | None = None  # a total above it means "more than" (Listing.count_limit)

    @property
    def more_than(self) -> int | None:
        """The count the total exceeds when the counting stopped there, else None."""
        limit = self.counted_up_to
        return limit if limit is not None and self.total > limit else None

    @property
    def pages(self) -> int:
        """The pages known to exist (all of them, unless the count stopped)."""
        shown = self.more_than if self.more_than is not None else self.total
        return max(1, -(-shown // self.page_size))

    @property
    def beyond_end(self) -> bool:
        """A page past the last (a stale link, a hand-typed number): shown as such."""
        return self.page > self.pages and self.more_than is None

    @property
    def previous(self) -> int | None:
        return min(self.page - 1, self.pages) if self.page > 1 else None

    @property
    def next(self) -> int | None:
        known = self.page < self.pages or (self.more_than is not None and self.page == self.pages)
        return self.page + 1 if known else None

    @property
    def first_item(self) -> int:
        return (self.page - 1) * self.page_size + 1


def listing(page: int, name: str = "", key: str = "name", sort: Sort | None = None
            ) -> Listing:
    """A page of ``PAGE_SIZE`` whose ``key`` contains ``name`` (when given)."""
    filters = (Filter(key, "fuzzy", (name,)),) if name else ()
    return Listing(filters, (sort,) if sort else (), page, PAGE_SIZE)


SORTS = {
    "name": Sort("name"),
    "-name": Sort("name", descending=True),
    "creation_time": Sort("creation_time"),
    "-creation_time": Sort("creation_time", descending=True),
}


def sort_of(text: str, default: str) -> tuple[str, Sort]:
    """``?sort=`` among the known orders; anything else is the default."""
    key = text if text in SORTS else default
    return key, SORTS[key]


# A repository's artifacts by push time or by the size shown (both indexed). Not by tag:
# Harbor's API has no such order, and an artifact's first tag name is no column to index.
ARTIFACT_SORTS = {
    "-push_time": (Sort("push_time", descending=True), "Newest push first"),
    "push_time": (Sort("push_time"), "Oldest push first"),
    "-size": (Sort("size", descending=True), "Largest first"),
    "size": (Sort("size"), "Smallest first"),
}
# Which artifacts by their tags: Harbor's ``tags=*`` (tagged) and ``tags=nil`` (untagged).
TAG_STATES = {"": "All", "tagged": "Tagged", "untagged": "Untagged"}


def artifact_listing(page: int, tag: str, sort_text: str, state: str
                     ) -> tuple[str, str, Listing]:
    """The sort key and tag state shown, and the listing they stand for."""
    sort_key = sort_text if sort_text in ARTIFACT_SORTS else "-push_time"
    state = state if state in TAG_STATES else ""
    filters = [Filter("tags", "fuzzy", (tag,))] if tag else []
    if state:
        filters.append(Filter("tags", "exact", ("*" if state == "tagged" else "nil",)))
    return sort_key, state, Listing(tuple(filters), (ARTIFACT_SORTS[sort_key][0],), page,
                                    PAGE_SIZE)
