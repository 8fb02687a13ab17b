"""Who changed what: the actor of a change, and reading the audit log by permission.

Changes write their audit rows themselves, inside the transaction that makes the change
(``audit_store.write_audit`` in the same ``db.run`` function), so a row exists exactly
when its change happened.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from harbor_twisted.core import rbac
from harbor_twisted.core.errors import Invalid, Unauthenticated
from harbor_twisted.core.rbac import Principal, Role
from harbor_twisted.db import audit_store
from harbor_twisted.db.audit_store import AuditEntry, AuditRecord
from harbor_twisted.db.engine import Database
from harbor_twisted.db.listing import Listing, ListingError
from harbor_twisted.db.project_store import Visibility


@dataclass(frozen=True)
class Actor:
    """The principal making a change and the address it came from."""

    principal: Principal
    client_ip: str = ""

    @property
    def username(self) -> str:
        return self.principal.name or "anonymous"

    def record(
        self,
        operation: str,
        resource_type: str,
        resource: str,
        project_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditRecord:
        return AuditRecord(
            username=self.username,
            operation=operation,
            resource_type=resource_type,
            resource=resource,
            client_ip=self.client_ip,
            project_id=project_id,
            detail=detail,
        )


def roles_allowing(principal: Principal, resource: str, action: str) -> frozenset[int]:
    """The project roles with which ``principal`` may do ``action`` on ``resource``.

    Asked of the permission matrix role by role, so SQL filters over many projects follow
    the same rules as ``rbac.allowed`` does for one.
    """
    plain = dataclasses.replace(principal, sysadmin=False)
    return frozenset(
        int(role)
        for role in Role
        if rbac.allowed(plain, resource, action, project_name="", project_public=False,
                        roles=[role])
    )


def listed(fn: Any, conn: Connection, *args: Any, **kwargs: Any) -> Any:
    """Run a store listing, turning its complaints about keys and values into ``Invalid``."""
    try:
        return fn(conn, *args, **kwargs)
    except ListingError as error:
        raise Invalid(str(error)) from None


class AuditService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(
        self, principal: Principal, listing: Listing
    ) -> tuple[list[AuditEntry], int]:
        """System admins see every entry; others the entries of projects whose log they may
        read (Project Admins, by the matrix)."""
        if principal.anonymous:
            raise Unauthenticated("authentication required")
        visibility = None
        if not principal.sysadmin:
            visibility = Visibility(
                include_public=False,
                user_id=principal.user_id,
                group_ids=principal.group_ids,
                roles=roles_allowing(principal, "log", "list"),
            )
        return await self.db.run(
            lambda conn: listed(audit_store.list_audit, conn, listing, visibility=visibility)
        )
