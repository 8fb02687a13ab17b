"""SQL for robot accounts (the ``robot`` table of migration 0002).

Two choices differ from the table's comments, for Harbor's reasons:
- ``name`` holds the name *without* the configurable prefix (``ci`` or ``team+ci``): the prefix
  (``robot_name_prefix``) is added when a robot is shown or logs in, so changing the setting
  renames every robot at once, as in Harbor.
- ``permissions`` holds JSON with project *ids* (or ``"*"``) and each project's creation
  time, never names: a deleted project's grants die with it, and a new project of the same
  name (even with the same id) inherits nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, insert, select, update

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db.identity_models import project, robot
from harbor_twisted.db.listing import MAX_ID, Listing, Sort, listed
from harbor_twisted.db.results import inserted_id

SYSTEM = "system"
PROJECT = "project"


@dataclass(frozen=True)
class RobotRow:
    id: int
    name: str  # without the prefix: "ci" (system) or "team+ci" (project)
    description: str
    level: str
    project_id: int | None
    secret_hash: str
    duration: int
    expires_at: int
    disabled: bool
    permissions: list[dict[str, Any]]  # [{kind, namespace: "*" | id, since, access: [...]}]
    creation_time: datetime
    update_time: datetime


ROBOT_COLUMNS: dict[str, ColumnElement[Any]] = {
    "id": robot.c.id,
    "name": robot.c.name,
    "description": robot.c.description,
    "disable": robot.c.disabled,
    "disabled": robot.c.disabled,
    "duration": robot.c.duration,
    "expires_at": robot.c.expires_at,
    "creation_time": robot.c.creation_time,
    "update_time": robot.c.update_time,
}


def _row(row: Any) -> RobotRow:
    try:
        permissions = json.loads(row.permissions or "[]")
    except ValueError:
        permissions = []
    return RobotRow(
        row.id, row.name, row.description or "", row.level, row.project_id, row.secret_hash,
        row.duration, row.expires_at, bool(row.disabled),
        permissions if isinstance(permissions, list) else [], row.creation_time,
        row.update_time,
    )


def get_robot(conn: Connection, robot_id: int) -> RobotRow | None:
    if not 0 < robot_id <= MAX_ID:
        return None
    row = conn.execute(select(robot).where(robot.c.id == robot_id)).first()
    return None if row is None else _row(row)


def get_robot_by_name(conn: Connection, name: str) -> RobotRow | None:
    row = conn.execute(select(robot).where(robot.c.name == name)).first()
    return None if row is None else _row(row)


def create_robot(
    conn: Connection,
    *,
    name: str,
    description: str,
    level: str,
    project_id: int | None,
    secret_hash: str,
    duration: int,
    expires_at: int,
    disabled: bool,
    permissions: list[dict[str, Any]],
    now: datetime | None = None,
) -> int:
    """``now`` is the creation time (the one ``expires_at`` was counted from)."""
    now = now or utcnow()
    result = conn.execute(
        insert(robot).values(
            name=name, description=description, level=level, project_id=project_id,
            secret_hash=secret_hash, duration=duration, expires_at=expires_at,
            disabled=disabled, permissions=json.dumps(permissions), creation_time=now,
            update_time=now,
        )
    )
    return inserted_id(result)


def update_robot(conn: Connection, robot_id: int, **values: Any) -> None:
    """Set columns (description, disabled, duration, expires_at, permissions, secret_hash)."""
    if "permissions" in values:
        values["permissions"] = json.dumps(values["permissions"])
    conn.execute(update(robot).where(robot.c.id == robot_id).values(**values,
                                                                     update_time=utcnow()))


def delete_robot(conn: Connection, robot_id: int) -> None:
    conn.execute(delete(robot).where(robot.c.id == robot_id))


def list_robots(
    conn: Connection, listing: Listing, level: str, project_id: int | None
) -> tuple[list[RobotRow], int]:
    """System robots, or the robots of one project, matching the listing."""
    stmt = select(robot).where(robot.c.level == level)
    if level == PROJECT:
        stmt = stmt.where(robot.c.project_id == project_id)
    rows, total = listed(conn, stmt, ROBOT_COLUMNS, listing, robot.c.id, (Sort("name"),))
    return [_row(row) for row in rows], total


def _stamp(moment: datetime) -> str:
    """A project's creation time as text: with its id it tells a project from a later one
    that got the same id (SQLite hands a freed highest id to the next row)."""
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def projects_by_id(conn: Connection, project_ids: set[int]) -> dict[int, tuple[str, str]]:
    """id -> (name, stamp) of the projects that exist."""
    if not project_ids:
        return {}
    rows = conn.execute(select(project.c.id, project.c.name, project.c.creation_time)
                        .where(project.c.id.in_(sorted(project_ids))))
    return {row.id: (row.name, _stamp(row.creation_time)) for row in rows}


def projects_by_name(conn: Connection, names: set[str]) -> dict[str, tuple[int, str]]:
    """name -> (id, stamp) of the projects that exist."""
    if not names:
        return {}
    rows = conn.execute(select(project.c.id, project.c.name, project.c.creation_time)
                        .where(project.c.name.in_(sorted(names))))
    return {row.name: (row.id, _stamp(row.creation_time)) for row in rows}
