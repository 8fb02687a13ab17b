"""SQL for tag immutability rules (Harbor's ``ImmutableRule``, selectors kept as JSON)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db.policy_models import immutable_rule
from harbor_twisted.db.results import inserted_id


@dataclass(frozen=True)
class ImmutableRuleRecord:
    id: int
    project_id: int
    priority: int
    disabled: bool
    action: str
    template: str
    tag_selectors: list[dict[str, Any]]
    scope_selectors: dict[str, list[dict[str, Any]]]
    creation_time: datetime


def _record(row: Any) -> ImmutableRuleRecord:
    return ImmutableRuleRecord(row.id, row.project_id, row.priority, bool(row.disabled),
                               row.action, row.template, json.loads(row.tag_selectors),
                               json.loads(row.scope_selectors), row.creation_time)


_ENABLED = (select(immutable_rule)
            .where(immutable_rule.c.project_id == bindparam("project_id"),
                   immutable_rule.c.disabled.is_(False))
            .order_by(immutable_rule.c.priority, immutable_rule.c.id))


def enabled_rules(conn: Connection, project_id: int) -> list[ImmutableRuleRecord]:
    return [_record(row) for row in conn.execute(_ENABLED, {"project_id": project_id})]


def list_rules(
    conn: Connection, project_id: int, offset: int, limit: int
) -> tuple[list[ImmutableRuleRecord], int]:
    where = immutable_rule.c.project_id == project_id
    total = conn.execute(select(func.count()).select_from(immutable_rule).where(where))
    rows = conn.execute(select(immutable_rule).where(where)
                        .order_by(immutable_rule.c.priority, immutable_rule.c.id)
                        .offset(offset).limit(limit))
    return [_record(row) for row in rows], int(total.scalar_one())


def all_rules(conn: Connection, project_id: int) -> list[ImmutableRuleRecord]:
    return list_rules(conn, project_id, 0, 1_000_000)[0]


def get_rule(conn: Connection, project_id: int, rule_id: int) -> ImmutableRuleRecord | None:
    row = conn.execute(select(immutable_rule).where(
        immutable_rule.c.id == rule_id, immutable_rule.c.project_id == project_id)).first()
    return None if row is None else _record(row)


def _values(rule: dict[str, Any]) -> dict[str, Any]:
    return {
        "priority": rule["priority"], "disabled": rule["disabled"], "action": rule["action"],
        "template": rule["template"],
        "tag_selectors": json.dumps(rule["tag_selectors"], sort_keys=True),
        "scope_selectors": json.dumps(rule["scope_selectors"], sort_keys=True),
    }


def create_rule(conn: Connection, project_id: int, rule: dict[str, Any]) -> int:
    now = utcnow()
    result = conn.execute(immutable_rule.insert().values(
        project_id=project_id, creation_time=now, update_time=now, **_values(rule)))
    return int(inserted_id(result))


def update_rule(conn: Connection, project_id: int, rule_id: int, rule: dict[str, Any]) -> bool:
    return conn.execute(update(immutable_rule).where(
        immutable_rule.c.id == rule_id, immutable_rule.c.project_id == project_id,
    ).values(update_time=utcnow(), **_values(rule))).rowcount > 0


def delete_rule(conn: Connection, project_id: int, rule_id: int) -> bool:
    return conn.execute(delete(immutable_rule).where(
        immutable_rule.c.id == rule_id, immutable_rule.c.project_id == project_id,
    )).rowcount > 0
