"""Pull statistics kept as columns: a repository's pull count and the last pull time of each
artifact and tag, written with the registry's batched pull audit (one transaction per batch),
so listings read them instead of counting the audit log."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, case, or_, select, update

from harbor_twisted.db.models import manifest, repository, tag


@dataclass(frozen=True)
class Pulled:
    """One manifest GET: by tag (``tag`` set) or by digest."""

    repository: str
    digest: str
    tag: str | None
    moment: datetime


def _later(column: ColumnElement[Any], moment: ColumnElement[Any]) -> ColumnElement[Any]:
    """``moment`` unless the column already holds a later one (batches may overlap)."""
    return case((or_(column.is_(None), column < moment), moment), else_=column)


def record_pulls(conn: Connection, pulls: list[Pulled]) -> None:
    if not pulls:
        return
    counts: dict[str, int] = defaultdict(int)
    by_digest: dict[tuple[str, str], datetime] = {}
    by_tag: dict[tuple[str, str], datetime] = {}
    for pull in pulls:
        counts[pull.repository] += 1
        key = (pull.repository, pull.digest)
        by_digest[key] = max(by_digest.get(key, pull.moment), pull.moment)
        if pull.tag is not None:
            key = (pull.repository, pull.tag)
            by_tag[key] = max(by_tag.get(key, pull.moment), pull.moment)
    conn.execute(
        update(repository).where(repository.c.name == bindparam("r"))
        .values(pull_count=repository.c.pull_count + bindparam("n")),
        [{"r": name, "n": n} for name, n in sorted(counts.items())],
    )
    repository_id = (select(repository.c.id).where(repository.c.name == bindparam("r"))
                     .scalar_subquery())
    moment = bindparam("t", type_=manifest.c.pull_time.type)
    conn.execute(
        update(manifest)
        .where(manifest.c.repository_id == repository_id, manifest.c.digest == bindparam("ref"))
        .values(pull_time=_later(manifest.c.pull_time, moment)),
        [{"r": r, "ref": d, "t": t} for (r, d), t in sorted(by_digest.items())],
    )
    if by_tag:
        conn.execute(
            update(tag)
            .where(tag.c.repository_id == repository_id, tag.c.name == bindparam("ref"))
            .values(pull_time=_later(tag.c.pull_time, moment)),
            [{"r": r, "ref": n, "t": t} for (r, n), t in sorted(by_tag.items())],
        )
