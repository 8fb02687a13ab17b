"""SQL for identity and access: users, projects, members, settings and audit records."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    DateTime,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)

from harbor_twisted.db import audit_counts
from harbor_twisted.db.clock import utcnow
from harbor_twisted.db.identity_models import (
    audit_log,
    project,
    project_member,
    project_metadata,
    system_setting,
    user,
    usergroup,
)
from harbor_twisted.db.models import repository


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
    audit_counts.add(conn, [record.project_id for record in records])


def count_users_besides(conn: Connection, username: str) -> int:
    return conn.execute(
        select(func.count()).select_from(user).where(user.c.username != username)
    ).scalar_one()


# == REST API support: listings, users, projects, metadata, members, groups, audit ==========
# Appended for the REST API (core/users.py, core/projects.py, core/members.py, core/audit.py).


class ListingError(ValueError):
    """A filter or sort key a listing does not know, or a value of the wrong type."""


# Ids are INTEGER columns: 32-bit on PostgreSQL, which refuses larger values outright.
MAX_ID = 2**31 - 1


def _valid_id(value: int | None) -> bool:
    return value is not None and 0 < value <= MAX_ID


@dataclass(frozen=True)
class Filter:
    """One clause of Harbor's ``q``: ``exact`` and ``fuzzy`` hold one value, ``range`` holds
    (low, high) with "" for an open end, ``any`` holds the alternatives."""

    key: str
    kind: str  # exact | fuzzy | range | any
    values: tuple[str, ...]


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool = False


@dataclass(frozen=True)
class Listing:
    filters: tuple[Filter, ...] = ()
    sorts: tuple[Sort, ...] = ()
    page: int = 1
    page_size: int = 10


def _parse_time(text: str) -> datetime:
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)  # also takes "2020-04-09 02:36:00" and dates
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _coerce(key: str, column: ColumnElement[Any], text: str) -> Any:
    kind = column.type
    try:
        if isinstance(kind, Boolean):
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError(text)
            return lowered in ("true", "1")
        if isinstance(kind, Integer):
            number = int(text)
            if not -MAX_ID - 1 <= number <= MAX_ID:
                raise ValueError(text)
            return number
        if isinstance(kind, DateTime):
            return _parse_time(text)
    except (ValueError, OverflowError):
        raise ListingError(f"{key}: {text!r} is not a valid value") from None
    return text


def _condition(column: ColumnElement[Any], flt: Filter) -> ColumnElement[bool]:
    if flt.kind == "fuzzy":
        if not isinstance(column.type, String):
            raise ListingError(f"{flt.key}: fuzzy match (~) works on text fields only")
        return column.icontains(flt.values[0], autoescape=True)
    if flt.kind == "range":
        low, high = flt.values
        parts = []
        if low:
            parts.append(column >= _coerce(flt.key, column, low))
        if high:
            parts.append(column <= _coerce(flt.key, column, high))
        return and_(true(), *parts)
    if flt.kind == "any":
        return column.in_([_coerce(flt.key, column, v) for v in flt.values])
    return column == _coerce(flt.key, column, flt.values[0])


def _listed(
    conn: Connection,
    stmt: Select[Any],
    columns: dict[str, ColumnElement[Any]],
    listing: Listing,
    tiebreak: ColumnElement[Any],
    default: tuple[Sort, ...] = (),
    hidden: ColumnElement[bool] | None = None,
    total: int | None = None,
) -> tuple[list[Any], int]:
    """Apply a listing's filters, sorts and page to ``stmt``; rows of the page and the total.

    A page in the second half is read from the other end, in the reverse order, so the last
    page costs what the first does (the tiebreak makes the order total, so reversing it is
    exact); a page beyond the end costs only the count. Rows matching ``hidden`` (a few,
    found by an index) are left out and counted as all rows less the hidden ones, which
    spares testing every row. A ``total`` known otherwise (kept counts) spares the count."""
    for flt in listing.filters:
        if flt.key not in columns:
            raise ListingError(f"unknown query key {flt.key!r} (known: {', '.join(columns)})")
        stmt = stmt.where(_condition(columns[flt.key], flt))
    sorts = listing.sorts or default
    keys: list[tuple[ColumnElement[Any], bool]] = []
    for sort in sorts:
        if sort.key not in columns:
            raise ListingError(f"unknown sort key {sort.key!r} (known: {', '.join(columns)})")
        keys.append((columns[sort.key], sort.descending))
    last_descending = bool(sorts) and sorts[-1].descending
    keys.append((tiebreak, last_descending))  # stable pages
    if total is None:
        total = conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    if hidden is not None:
        total -= conn.execute(
            select(func.count()).select_from(stmt.where(hidden).subquery())
        ).scalar_one()
        stmt = stmt.where(~hidden)
    offset = (listing.page - 1) * listing.page_size
    if offset >= total:
        return [], total
    size = min(listing.page_size, total - offset)
    reverse = offset > (total - size) // 2
    if reverse:
        offset = total - offset - size
    order = [c.asc() if descending == reverse else c.desc() for c, descending in keys]
    rows = list(conn.execute(stmt.order_by(*order).offset(offset).limit(size)).all())
    return rows[::-1] if reverse else rows, total


def _held_by(user_id: int | None, group_ids: frozenset[int]) -> ColumnElement[bool]:
    """Membership rows of the user, directly or through one of their groups."""
    conditions = []
    if user_id is not None:
        conditions.append(
            (project_member.c.entity_type == "u") & (project_member.c.entity_id == user_id)
        )
    if group_ids:
        conditions.append(
            (project_member.c.entity_type == "g")
            & project_member.c.entity_id.in_(sorted(group_ids))
        )
    return or_(false(), *conditions)


def _user_or_member_of(
    user_id: int | None, group_ids: frozenset[int], roles: frozenset[int]
) -> Select[Any]:
    """Ids of projects where the user, directly or through a group, holds one of ``roles``."""
    return select(project_member.c.project_id).where(
        _held_by(user_id, group_ids), project_member.c.role_id.in_(sorted(roles))
    )


# -- users ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserRecord:
    """A user as the API shows it (never the password hash)."""

    id: int
    username: str
    email: str | None
    realname: str
    comment: str
    sysadmin: bool
    auth_source: str
    creation_time: datetime
    update_time: datetime


USER_COLUMNS: dict[str, ColumnElement[Any]] = {
    "user_id": user.c.id,
    "username": user.c.username,
    "email": user.c.email,
    "realname": user.c.realname,
    "sysadmin_flag": user.c.sysadmin_flag,
    "creation_time": user.c.creation_time,
    "update_time": user.c.update_time,
}


def _user_record(row: Any) -> UserRecord:
    return UserRecord(
        row.id, row.username, row.email, row.realname, row.comment, bool(row.sysadmin_flag),
        row.auth_source, row.creation_time, row.update_time,
    )


def get_user_row(conn: Connection, user_id: int) -> UserRow | None:
    if not _valid_id(user_id):
        return None
    return _user(conn.execute(select(user).where(user.c.id == user_id)).first())


def get_user_record(conn: Connection, user_id: int) -> UserRecord | None:
    if not _valid_id(user_id):
        return None
    row = conn.execute(select(user).where(user.c.id == user_id)).first()
    return None if row is None else _user_record(row)


def list_users(conn: Connection, listing: Listing) -> tuple[list[UserRecord], int]:
    rows, total = _listed(conn, select(user), USER_COLUMNS, listing, user.c.id)
    return [_user_record(row) for row in rows], total


def email_in_use(conn: Connection, email: str, except_user_id: int | None = None) -> bool:
    stmt = select(user.c.id).where(func.lower(user.c.email) == email.lower())
    if except_user_id is not None:
        stmt = stmt.where(user.c.id != except_user_id)
    return conn.execute(stmt.limit(1)).first() is not None


def update_user(conn: Connection, user_id: int, **values: Any) -> None:
    """Set profile columns (email, realname, comment, sysadmin_flag) and the update time."""
    conn.execute(update(user).where(user.c.id == user_id).values(**values, update_time=utcnow()))


def delete_user(conn: Connection, user_id: int) -> None:
    """Remove the user, their memberships, and their name as owner of projects."""
    conn.execute(
        delete(project_member).where(
            project_member.c.entity_type == "u", project_member.c.entity_id == user_id
        )
    )
    conn.execute(update(project).where(project.c.owner_id == user_id).values(owner_id=None))
    conn.execute(delete(user).where(user.c.id == user_id))


# -- projects -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectRecord:
    id: int
    name: str
    public: bool
    owner_id: int | None
    owner_name: str | None
    creation_time: datetime
    update_time: datetime


@dataclass(frozen=True)
class Visibility:
    """Which projects a non-admin may see: public ones (if asked) and those where the user
    or one of their groups holds one of ``roles``."""

    include_public: bool
    user_id: int | None = None
    group_ids: frozenset[int] = frozenset()
    roles: frozenset[int] = frozenset()


_OWNER = user.alias("owner")
PROJECT_COLUMNS: dict[str, ColumnElement[Any]] = {
    "project_id": project.c.id,
    "name": project.c.name,
    "public": project.c.public,
    "owner": _OWNER.c.username,
    "creation_time": project.c.creation_time,
    "update_time": project.c.update_time,
}
_PROJECTS = select(
    project.c.id, project.c.name, project.c.public, project.c.owner_id,
    _OWNER.c.username.label("owner_name"), project.c.creation_time, project.c.update_time,
).select_from(project.outerjoin(_OWNER, _OWNER.c.id == project.c.owner_id))


def _project_record(row: Any) -> ProjectRecord:
    return ProjectRecord(
        row.id, row.name, bool(row.public), row.owner_id, row.owner_name, row.creation_time,
        row.update_time,
    )


def find_project(
    conn: Connection, *, project_id: int | None = None, name: str | None = None
) -> ProjectRecord | None:
    if name is None and not _valid_id(project_id):
        return None
    stmt = _PROJECTS.where(project.c.id == project_id if name is None else project.c.name == name)
    row = conn.execute(stmt).first()
    return None if row is None else _project_record(row)


def list_projects(
    conn: Connection, listing: Listing, visibility: Visibility | None
) -> tuple[list[ProjectRecord], int]:
    """Projects matching the listing; ``visibility`` None means every project (admins)."""
    stmt = _PROJECTS
    if visibility is not None:
        member_of = project.c.id.in_(
            _user_or_member_of(visibility.user_id, visibility.group_ids, visibility.roles)
        )
        stmt = stmt.where(or_(project.c.public.is_(true()), member_of)
                          if visibility.include_public else member_of)
    rows, total = _listed(conn, stmt, PROJECT_COLUMNS, listing, project.c.id,
                          (Sort("name"),))
    return [_project_record(row) for row in rows], total


def update_project(conn: Connection, project_id: int, **values: Any) -> None:
    conn.execute(
        update(project).where(project.c.id == project_id).values(**values, update_time=utcnow())
    )


def delete_project(conn: Connection, project_id: int) -> None:
    """Remove the project; its audit entries stay, detached (only system admins see them),
    because SQLite hands a freed highest id to the next project."""
    conn.execute(
        update(audit_log).where(audit_log.c.project_id == project_id).values(project_id=None)
    )
    audit_counts.detach(conn, project_id)
    conn.execute(delete(project_metadata).where(project_metadata.c.project_id == project_id))
    conn.execute(delete(project_member).where(project_member.c.project_id == project_id))
    conn.execute(delete(project).where(project.c.id == project_id))


def name_prefix(conn: Connection, column: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, as a range of the name index on SQLite (whose LIKE
    ignores case and so cannot use it; its text order is byte order, which makes the range
    exact), as LIKE elsewhere (whose collation need not be byte order)."""
    if conn.dialect.name == "sqlite" and prefix:
        following = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return and_(column >= prefix, column < following)
    return column.startswith(prefix, autoescape=True)


def repository_counts(conn: Connection, names: list[str]) -> dict[str, int]:
    """Repositories per project name (a repository ``p/…`` belongs to project ``p``): on
    SQLite a range of the name index each, elsewhere one grouped pass over the names."""
    if conn.dialect.name == "postgresql" and names:
        part = func.split_part(repository.c.name, "/", 1)
        grouped = dict(conn.execute(
            select(part, func.count()).where(repository.c.name.contains("/"),
                                             part.in_(names)).group_by(part)
        ).all())
        return {name: grouped.get(name, 0) for name in names}
    counts = {}
    for name in names:
        counts[name] = conn.execute(
            select(func.count())
            .select_from(repository)
            .where(name_prefix(conn, repository.c.name, name + "/"))
        ).scalar_one()
    return counts


def project_roles(
    conn: Connection, project_ids: list[int], user_id: int | None, group_ids: frozenset[int]
) -> dict[int, list[int]]:
    """Each project's roles held by the user directly or through groups."""
    if not project_ids:
        return {}
    stmt = select(project_member.c.project_id, project_member.c.role_id).where(
        _held_by(user_id, group_ids), project_member.c.project_id.in_(project_ids)
    )
    roles: dict[int, list[int]] = {}
    for row in conn.execute(stmt):
        roles.setdefault(row.project_id, []).append(row.role_id)
    return roles


def project_metadata_values(conn: Connection, project_ids: list[int]) -> dict[int, dict[str, str]]:
    values: dict[int, dict[str, str]] = {pid: {} for pid in project_ids}
    if project_ids:
        rows = conn.execute(
            select(project_metadata).where(project_metadata.c.project_id.in_(project_ids))
        )
        for row in rows:
            values[row.project_id][row.name] = row.value
    return values


def put_project_metadata(conn: Connection, project_id: int, values: dict[str, str]) -> None:
    for name, value in values.items():
        changed = conn.execute(
            update(project_metadata)
            .where(project_metadata.c.project_id == project_id, project_metadata.c.name == name)
            .values(value=value)
        ).rowcount
        if not changed:
            conn.execute(
                insert(project_metadata).values(project_id=project_id, name=name, value=value)
            )


def delete_project_metadata(conn: Connection, project_id: int, name: str) -> bool:
    return bool(
        conn.execute(
            delete(project_metadata).where(
                project_metadata.c.project_id == project_id, project_metadata.c.name == name
            )
        ).rowcount
    )


# -- members and groups ---------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRecord:
    id: int
    project_id: int
    entity_id: int
    entity_type: str  # u | g
    entity_name: str
    role_id: int


@dataclass(frozen=True)
class GroupRecord:
    id: int
    group_name: str
    group_type: int
    ldap_group_dn: str | None


_MEMBER_USER = user.alias("member_user")
_MEMBER_NAME = func.coalesce(_MEMBER_USER.c.username, usergroup.c.group_name, "")
MEMBER_COLUMNS: dict[str, ColumnElement[Any]] = {
    "id": project_member.c.id,
    "entityname": _MEMBER_NAME,
    "entity_type": project_member.c.entity_type,
    "role_id": project_member.c.role_id,
}
_MEMBERS = select(
    project_member.c.id, project_member.c.project_id, project_member.c.entity_id,
    project_member.c.entity_type, _MEMBER_NAME.label("entity_name"), project_member.c.role_id,
).select_from(
    project_member.outerjoin(
        _MEMBER_USER,
        and_(project_member.c.entity_type == "u", _MEMBER_USER.c.id == project_member.c.entity_id),
    ).outerjoin(
        usergroup,
        and_(project_member.c.entity_type == "g", usergroup.c.id == project_member.c.entity_id),
    )
)


def _member_record(row: Any) -> MemberRecord:
    return MemberRecord(
        row.id, row.project_id, row.entity_id, row.entity_type, row.entity_name, row.role_id
    )


def list_members(
    conn: Connection, project_id: int, listing: Listing
) -> tuple[list[MemberRecord], int]:
    stmt = _MEMBERS.where(project_member.c.project_id == project_id)
    rows, total = _listed(conn, stmt, MEMBER_COLUMNS, listing, project_member.c.id)
    return [_member_record(row) for row in rows], total


def get_member(conn: Connection, project_id: int, member_id: int) -> MemberRecord | None:
    if not _valid_id(member_id):
        return None
    row = conn.execute(
        _MEMBERS.where(project_member.c.project_id == project_id, project_member.c.id == member_id)
    ).first()
    return None if row is None else _member_record(row)


def find_member(
    conn: Connection, project_id: int, entity_type: str, entity_id: int
) -> MemberRecord | None:
    row = conn.execute(
        _MEMBERS.where(
            project_member.c.project_id == project_id,
            project_member.c.entity_type == entity_type,
            project_member.c.entity_id == entity_id,
        )
    ).first()
    return None if row is None else _member_record(row)


def set_member_role(conn: Connection, member_id: int, role_id: int) -> None:
    conn.execute(
        update(project_member)
        .where(project_member.c.id == member_id)
        .values(role_id=role_id, update_time=utcnow())
    )


def delete_member(conn: Connection, member_id: int) -> None:
    conn.execute(delete(project_member).where(project_member.c.id == member_id))


def member_role_counts(conn: Connection, project_id: int) -> dict[int, int]:
    rows = conn.execute(
        select(project_member.c.role_id, func.count())
        .where(project_member.c.project_id == project_id)
        .group_by(project_member.c.role_id)
    )
    return {role_id: count for role_id, count in rows}


def find_group(
    conn: Connection, *, group_id: int | None = None, ldap_group_dn: str | None = None
) -> GroupRecord | None:
    stmt = select(usergroup)
    if group_id is not None:
        if not _valid_id(group_id):
            return None
        stmt = stmt.where(usergroup.c.id == group_id)
    else:
        stmt = stmt.where(func.lower(usergroup.c.ldap_group_dn) == (ldap_group_dn or "").lower())
    row = conn.execute(stmt.limit(1)).first()
    if row is None:
        return None
    return GroupRecord(row.id, row.group_name, row.group_type, row.ldap_group_dn)


# -- audit log ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    id: int
    project_id: int | None
    username: str
    client_ip: str
    operation: str
    resource_type: str
    resource: str
    op_time: datetime


AUDIT_COLUMNS: dict[str, ColumnElement[Any]] = {
    "id": audit_log.c.id,
    "username": audit_log.c.username,
    "resource": audit_log.c.resource,
    "resource_type": audit_log.c.resource_type,
    "operation": audit_log.c.operation,
    "op_time": audit_log.c.op_time,
    "client_ip": audit_log.c.client_ip,
    "project_id": audit_log.c.project_id,
}


def list_audit(
    conn: Connection,
    listing: Listing,
    *,
    project_id: int | None = None,
    visibility: Visibility | None = None,
) -> tuple[list[AuditEntry], int]:
    """Audit entries, newest first unless sorted otherwise; of one project, or of the
    projects ``visibility`` allows (None: every entry)."""
    stmt = select(audit_log)
    kept: Any = None  # which kept count is the unfiltered total
    if project_id is not None:
        stmt = stmt.where(audit_log.c.project_id == project_id)
        kept = project_id
    if visibility is not None:
        member_of = _user_or_member_of(visibility.user_id, visibility.group_ids,
                                       visibility.roles)
        stmt = stmt.where(audit_log.c.project_id.in_(member_of))
        kept = member_of if project_id is None else kept
    known = None
    if not listing.filters and not (project_id is not None and visibility is not None):
        known = audit_counts.total(conn, kept)
    rows, total = _listed(conn, stmt, AUDIT_COLUMNS, listing, audit_log.c.id,
                          (Sort("op_time", descending=True),), total=known)
    return [
        AuditEntry(row.id, row.project_id, row.username, row.client_ip, row.operation,
                   row.resource_type, row.resource, row.op_time)
        for row in rows
    ], total


def ping(conn: Connection) -> None:
    conn.execute(select(literal(1))).scalar_one()
