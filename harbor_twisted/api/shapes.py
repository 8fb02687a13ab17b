"""Harbor's JSON shapes (``api/v2.0/swagger.yaml`` definitions) for what core returns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from harbor_twisted.core.members import role_name
from harbor_twisted.core.projects import ProjectView
from harbor_twisted.core.robot_rules import Permission
from harbor_twisted.core.robots import CreatedRobot, RobotView
from harbor_twisted.db.audit_store import AuditEntry
from harbor_twisted.db.member_store import MemberRecord
from harbor_twisted.db.user_store import UserRecord

# Role ids from the most to the least powerful (Harbor's ids are not in that order).
_ROLE_RANK = (1, 4, 2, 3, 5)


def iso(moment: datetime | None) -> str | None:
    """Harbor's date-time: UTC with milliseconds, ``2006-01-02T15:04:05.000Z``."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def user_resp(user: UserRecord, admin_role_in_auth: bool = False) -> dict[str, Any]:
    """``UserResp``; ``admin_role_in_auth``: an admin through the LDAP admin group."""
    return {
        "user_id": user.id,
        "username": user.username,
        "email": user.email or "",
        "realname": user.realname,
        "comment": user.comment,
        "sysadmin_flag": user.sysadmin,
        "admin_role_in_auth": admin_role_in_auth and not user.sysadmin,
        "creation_time": iso(user.creation_time),
        "update_time": iso(user.update_time),
    }


def user_search_item(user: UserRecord) -> dict[str, Any]:
    """``UserSearchRespItem``."""
    return {"user_id": user.id, "username": user.username}


def project(view: ProjectView) -> dict[str, Any]:
    """``Project``."""
    record = view.project
    return {
        "project_id": record.id,
        "owner_id": record.owner_id or 0,
        "owner_name": record.owner_name or "",
        "name": record.name,
        "registry_id": 0,
        "creation_time": iso(record.creation_time),
        "update_time": iso(record.update_time),
        "deleted": False,
        "togglable": True,
        "current_user_role_id": next((r for r in _ROLE_RANK if r in view.role_ids), 0),
        "current_user_role_ids": list(view.role_ids),
        "repo_count": view.repo_count,
        "chart_count": 0,
        "metadata": view.metadata,
        "cve_allowlist": {"id": 0, "project_id": record.id, "items": []},
    }


def member(record: MemberRecord) -> dict[str, Any]:
    """``ProjectMemberEntity``."""
    return {
        "id": record.id,
        "project_id": record.project_id,
        "entity_name": record.entity_name,
        "entity_id": record.entity_id,
        "entity_type": record.entity_type,
        "role_id": record.role_id,
        "role_name": role_name(record.role_id),
    }


def audit_log(entry: AuditEntry) -> dict[str, Any]:
    """``AuditLog``, plus the client address Harbor's newer audit log shows."""
    return {
        "id": entry.id,
        "username": entry.username,
        "resource": entry.resource,
        "resource_type": entry.resource_type,
        "operation": entry.operation,
        "op_time": iso(entry.op_time),
        "client_ip": entry.client_ip,
    }


def robot_permission(permission: Permission) -> dict[str, Any]:
    """``RobotPermission`` with its ``Access`` list."""
    return {
        "kind": permission.kind,
        "namespace": permission.namespace,
        "access": [{"resource": a.resource, "action": a.action, "effect": a.effect}
                   for a in permission.access],
    }


def robot(view: RobotView) -> dict[str, Any]:
    """``Robot``; the secret is never part of it (only create and refresh return one)."""
    return {
        "id": view.id,
        "name": view.name,
        "description": view.description,
        "level": view.level,
        "duration": view.duration,
        "editable": True,
        "disable": view.disabled,
        "expires_at": view.expires_at,
        "permissions": [robot_permission(p) for p in view.permissions],
        "creation_time": iso(view.creation_time),
        "update_time": iso(view.update_time),
    }


def robot_created(created: CreatedRobot) -> dict[str, Any]:
    """``RobotCreated``: the only answer besides ``RobotSec`` that carries the secret."""
    return {
        "id": created.id,
        "name": created.name,
        "secret": created.secret,
        "creation_time": iso(created.creation_time),
        "expires_at": created.expires_at,
    }
