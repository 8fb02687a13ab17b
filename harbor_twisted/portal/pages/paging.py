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

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def beyond_end(self) -> bool:
        """A page past the last (a stale link, a hand-typed number): shown as such."""
        return self.page > self.pages

    @property
    def previous(self) -> int | None:
        return min(self.page - 1, self.pages) if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None

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
