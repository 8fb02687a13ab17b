"""SQL for the runtime settings (``system_setting``) and the database ping."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    Connection,
    insert,
    literal,
    select,
    update,
)

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db.identity_models import (
    system_setting,
)


def get_setting(conn: Connection, name: str) -> Any:
    row = conn.execute(select(system_setting.c.value).where(system_setting.c.name == name)).first()
    return None if row is None else json.loads(row.value)


def all_settings(conn: Connection) -> dict[str, Any]:
    rows = conn.execute(select(system_setting.c.name, system_setting.c.value))
    return {row.name: json.loads(row.value) for row in rows}


def put_setting(conn: Connection, name: str, value: Any) -> None:
    encoded = json.dumps(value)
    now = utcnow()
    changed = conn.execute(
        update(system_setting)
        .where(system_setting.c.name == name)
        .values(value=encoded, update_time=now)
    ).rowcount
    if not changed:
        conn.execute(insert(system_setting).values(name=name, value=encoded, update_time=now))


def ping(conn: Connection) -> None:
    conn.execute(select(literal(1))).scalar_one()
