"""SQL for identity and access: users, projects, members, settings and audit records."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from harbor_twisted.db.identity_models import (
    audit_log,
    project,
    project_member,
    system_setting,
    user,
)
from harbor_twisted.db.clock import utcnow


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    email: str | None
    realname: str
    comment: str
    password_hash: str | None
    sysadmin: bool
    auth_source: str
    ldap_dn: str | None


@dataclass(frozen=True)
class ProjectRow:
    id: int
    name: str
    public: bool
    owner_id: int | None


@dataclass(frozen=True)
class AuditRecord:
    username: str
    operation: str
    resource_type: str
    resource: str
    client_ip: str = ""
    project_id: int | None = None
    detail: dict[str, Any] | None = None


_USER_BY_NAME = select(user).where(user.c.username == bindparam("username"))
_PROJECT_BY_NAME = select(project.c.id, project.c.name, project.c.public, project.c.owner_id).where(
    project.c.name == bindparam("name")
)


def _user(row: Any) -> UserRow | None:
    if row is None:
        return None
    return UserRow(
        row.id,
        row.username,
        row.email,
        row.realname,
        row.comment,
        row.password_hash,
        bool(row.sysadmin_flag),
        row.auth_source,
        row.ldap_dn,
    )


def get_user_by_name(conn: Connection, username: str) -> UserRow | None:
    return _user(conn.execute(_USER_BY_NAME, {"username": username}).first())


def create_user(
    conn: Connection,
    username: str,
    *,
    password_hash: str | None,
    email: str | None = None,
    realname: str = "",
    comment: str = "",
    sysadmin: bool = False,
    auth_source: str = "db",
    ldap_dn: str | None = None,
) -> int:
    now = utcnow()
    result = conn.execute(
        insert(user).values(
            username=username,
            email=email,
            realname=realname,
            comment=comment,
            password_hash=password_hash,
            sysadmin_flag=sysadmin,
            auth_source=auth_source,
            ldap_dn=ldap_dn,
            creation_time=now,
            update_time=now,
        )
    )
    return result.inserted_primary_key[0]


def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    conn.execute(
        update(user)
        .where(user.c.id == user_id)
        .values(password_hash=password_hash, update_time=utcnow())
    )


def get_project(conn: Connection, name: str) -> ProjectRow | None:
    row = conn.execute(_PROJECT_BY_NAME, {"name": name}).first()
    if row is None:
        return None
    return ProjectRow(row.id, row.name, bool(row.public), row.owner_id)


def create_project(conn: Connection, name: str, owner_id: int | None, public: bool) -> int:
    now = utcnow()
    result = conn.execute(
        insert(project).values(
            name=name, owner_id=owner_id, public=public, creation_time=now, update_time=now
        )
    )
    return result.inserted_primary_key[0]


def add_member(
    conn: Connection, project_id: int, entity_type: str, entity_id: int, role_id: int
) -> int:
    now = utcnow()
    result = conn.execute(
        insert(project_member).values(
            project_id=project_id,
            entity_type=entity_type,
            entity_id=entity_id,
            role_id=role_id,
            creation_time=now,
            update_time=now,
        )
    )
    return result.inserted_primary_key[0]


def member_roles(
    conn: Connection, project_id: int, user_id: int | None, group_ids: frozenset[int]
) -> list[int]:
    """Roles held in a project directly by the user and through any of their groups."""
    conditions = []
    if user_id is not None:
        conditions.append(
            (project_member.c.entity_type == "u") & (project_member.c.entity_id == user_id)
        )
    if group_ids:
        conditions.append(
            (project_member.c.entity_type == "g")
            & (project_member.c.entity_id.in_(sorted(group_ids)))
        )
    if not conditions:
        return []
    condition = conditions[0] if len(conditions) == 1 else conditions[0] | conditions[1]
    rows = conn.execute(
        select(project_member.c.role_id).where(project_member.c.project_id == project_id, condition)
    )
    return [row.role_id for row in rows]


def get_setting(conn: Connection, name: str) -> Any:
    row = conn.execute(
        select(system_setting.c.value).where(system_setting.c.name == name)
    ).first()
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


def write_audit(conn: Connection, records: list[AuditRecord]) -> None:
    if not records:
        return
    now = utcnow()
    conn.execute(
        insert(audit_log),
        [
            {
                "project_id": record.project_id,
                "username": record.username,
                "client_ip": record.client_ip,
                "operation": record.operation,
                "resource_type": record.resource_type,
                "resource": record.resource,
                "detail": json.dumps(record.detail) if record.detail else None,
                "op_time": now,
            }
            for record in records
        ],
    )


def count_users_besides(conn: Connection, username: str) -> int:
    return conn.execute(
        select(func.count()).select_from(user).where(user.c.username != username)
    ).scalar_one()
