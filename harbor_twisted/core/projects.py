"""Projects: creation by whoever the restriction allows, reading by visibility and role,
metadata, deletion once empty — each change audited in its own transaction."""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass, field

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from twisted.internet.threads import deferToThread

from harbor_twisted.common import webhook_secrets as webhook_secrets
from harbor_twisted.core import rbac
from harbor_twisted.core.audit import Actor, listed, roles_allowing
from harbor_twisted.core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PreconditionFailed,
    Unauthenticated,
)
from harbor_twisted.core.identity import IdentityService
from harbor_twisted.core.rbac import Principal, Role
from harbor_twisted.db import (
    audit_store,
    member_store,
    project_store,
    quota_store,
    retention_store,
    webhook_store,
)
from harbor_twisted.db.audit_store import AuditEntry
from harbor_twisted.db.listing import Listing
from harbor_twisted.db.project_store import ProjectRecord, Visibility

NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
NAME_MAX = 255
BOOLEAN_METADATA = frozenset(
    {"public", "enable_content_trust", "enable_content_trust_cosign", "prevent_vul",
     "auto_scan", "auto_sbom_generation", "reuse_sys_cve_allowlist"}
)
SEVERITIES = ("none", "low", "medium", "high", "critical")
METADATA_KEYS = BOOLEAN_METADATA | {"severity"}


@dataclass(frozen=True)
class ProjectRef:
    """A project named in a path: by id when the text is digits, unless ``is_name``
    (Harbor's ``X-Is-Resource-Name`` header) says it is a name."""

    text: str
    is_name: bool = False

    @property
    def project_id(self) -> int | None:
        if self.is_name or not self.text.isdecimal() or len(self.text) > 18:
            return None
        return int(self.text)  # too large for an id: the store finds nothing

    def find(self, conn: Connection) -> ProjectRecord | None:
        if self.project_id is not None:
            return project_store.find_project(conn, project_id=self.project_id)
        if not self.text or len(self.text) > NAME_MAX:
            return None
        return project_store.find_project(conn, name=self.text)


@dataclass(frozen=True)
class Access:
    project: ProjectRecord
    roles: tuple[Role, ...]

    def allows(self, principal: Principal, resource: str, action: str) -> bool:
        return rbac.allowed(
            principal, resource, action, project_name=self.project.name,
            project_public=self.project.public, roles=self.roles,
        )


@dataclass(frozen=True)
class ProjectView:
    """A project with what the API shows beside it."""

    project: ProjectRecord
    metadata: dict[str, str]
    repo_count: int
    role_ids: tuple[int, ...] = field(default=())


def user_roles(conn: Connection, principal: Principal, project_id: int) -> tuple[Role, ...]:
    if principal.kind != "user":
        return ()
    held = project_store.project_roles(conn, [project_id], principal.user_id,
                                        principal.group_ids)
    return tuple(Role(r) for r in held.get(project_id, []) if r in Role._value2member_map_)


def authorize(
    conn: Connection, principal: Principal, ref: ProjectRef, resource: str, action: str
) -> Access:
    """The project and the caller's roles in it, if the matrix allows the action.

    Harbor's answers: anonymous callers get 401 (for a project that does not exist too),
    known callers 404 for a missing project and 403 for a refused action.
    """
    found = ref.find(conn)
    if found is None:
        if principal.anonymous:
            raise Unauthenticated("authentication required")
        raise NotFound(f"project {ref.text} not found")
    access = Access(found, user_roles(conn, principal, found.id))
    if not access.allows(principal, resource, action):
        if principal.anonymous:
            raise Unauthenticated("authentication required")
        raise Forbidden(f"not allowed to {action} {resource} of project {found.name}")
    return access


def check_name(name: str) -> None:
    if not name or len(name) > NAME_MAX or not NAME.fullmatch(name):
        raise Invalid(
            "project_name must be 1 to 255 lower case letters, digits and single separators "
            "(. _ -) between them, such as my-project"
        )
    if name.isdecimal():
        raise Invalid("project_name cannot be only digits: it would read as a project id")


def normalize_metadata(key: str, value: object) -> str:
    """Harbor's metadata rules: known keys only, booleans as "true"/"false"."""
    if key not in METADATA_KEYS:
        raise Invalid(f"invalid metadata key: {key} (known: {', '.join(sorted(METADATA_KEYS))})")
    if not isinstance(value, str):
        raise Invalid(f"metadata.{key} must be a string")
    if key == "severity":
        if value.lower() not in SEVERITIES:
            raise Invalid(f"metadata.severity must be one of {', '.join(SEVERITIES)}")
        return value.lower()
    if value.lower() not in ("true", "false"):
        raise Invalid(f"metadata.{key} should only be 'true' or 'false', but got: '{value}'")
    return value.lower()


def _view(conn: Connection, principal: Principal, record: ProjectRecord) -> ProjectView:
    return _views(conn, principal, [record])[0]


def _views(
    conn: Connection, principal: Principal, records: list[ProjectRecord]
) -> list[ProjectView]:
    ids = [r.id for r in records]
    metadata = project_store.project_metadata_values(conn, ids)
    counts = project_store.repository_counts(conn, [r.name for r in records])
    roles: dict[int, list[int]] = {}
    if principal.kind == "user":
        roles = project_store.project_roles(conn, ids, principal.user_id, principal.group_ids)
    return [
        ProjectView(
            record,
            {**metadata[record.id], "public": "true" if record.public else "false"},
            counts[record.name],
            tuple(sorted(set(roles.get(record.id, [])))),
        )
        for record in records
    ]


class ProjectService:
    def __init__(self, identity: IdentityService) -> None:
        self.identity = identity
        self.db = identity.db

    # -- creating and listing --------------------------------------------------------------

    async def create(self, actor: Actor, name: str, metadata: dict[str, str],
                     storage_limit: int = quota_store.UNLIMITED) -> int:
        principal = actor.principal
        if principal.anonymous:
            raise Unauthenticated("authentication required")
        if principal.kind != "user":
            raise Forbidden("only users can create projects")
        if not self.creation_allowed(principal):
            raise Forbidden("Only system admin can create project")
        check_name(name)
        values = {key: normalize_metadata(key, value) for key, value in metadata.items()}
        return await self.db.run(_create, actor, name, values, storage_limit)

    def creation_allowed(self, principal: Principal) -> bool:
        """``project_creation_restriction``: everyone (users, not robots) or admins only."""
        if principal.kind != "user":
            return False
        restriction = self.identity.settings.get("project_creation_restriction", "everyone")
        return restriction != "adminonly" or principal.sysadmin

    async def exists(self, principal: Principal, name: str) -> bool:
        """For ``HEAD /projects``: anonymous callers learn only about public projects."""
        found = await self.db.run(lambda conn: ProjectRef(name, True).find(conn))
        if found is None:
            if principal.anonymous:
                raise Unauthenticated("authentication required")
            return False
        if principal.anonymous and not found.public:
            raise Unauthenticated("authentication required")
        return True

    async def list(
        self, principal: Principal, listing: Listing
    ) -> tuple[list[ProjectView], int]:
        """Admins see every project; others public ones and those they may read as members."""
        visibility = None
        if not principal.sysadmin:
            visibility = Visibility(
                include_public=True,
                user_id=principal.user_id if principal.kind == "user" else None,
                group_ids=principal.group_ids,
                roles=roles_allowing(principal, "project", "read"),
            )

        def run(conn: Connection) -> tuple[list[ProjectView], int]:
            records, total = listed(project_store.list_projects, conn, listing, visibility)
            return _views(conn, principal, records), total

        return await self.db.run(run)

    async def quotas_of(self, views: builtins.list[ProjectView]
                        ) -> dict[int, quota_store.QuotaRecord]:
        """Storage used and limit of projects this service listed for the caller (the
        listing already checked they may see them), by project id."""
        ids = [view.project.id for view in views]
        return await self.db.run(quota_store.quotas_of_projects, ids)

    # -- one project -----------------------------------------------------------------------

    async def get(self, principal: Principal, ref: ProjectRef) -> ProjectView:
        def run(conn: Connection) -> ProjectView:
            access = authorize(conn, principal, ref, "project", "read")
            return _view(conn, principal, access.project)

        return await self.db.run(run)

    async def update(self, actor: Actor, ref: ProjectRef, metadata: dict[str, str]) -> None:
        values = {key: normalize_metadata(key, value) for key, value in metadata.items()}
        await self.db.run(_update_metadata, actor, ref, values, "project")

    async def deletable(self, principal: Principal, ref: ProjectRef) -> tuple[bool, str]:
        def run(conn: Connection) -> tuple[bool, str]:
            access = authorize(conn, principal, ref, "project", "delete")
            return _deletable(conn, access.project)

        return await self.db.run(run)

    async def delete(self, actor: Actor, ref: ProjectRef) -> None:
        webhook_policies = await self.db.run(_delete, actor, ref)
        self.identity.forget_credentials()
        for policy_id in webhook_policies:  # their auth headers (files: off the reactor)
            await deferToThread(webhook_secrets.forget_all, self.identity.config, policy_id)

    async def summary(self, principal: Principal, ref: ProjectRef) -> dict[str, object]:
        def run(conn: Connection) -> dict[str, object]:
            access = authorize(conn, principal, ref, "project", "read")
            project = access.project
            result: dict[str, object] = {
                "repo_count": project_store.repository_counts(conn, [project.name])[
                    project.name
                ],
                "chart_count": 0,
            }
            if access.allows(principal, "member", "list"):
                counts = member_store.member_role_counts(conn, project.id)
                for role, key in _SUMMARY_KEYS.items():
                    result[key] = counts.get(int(role), 0)
            quota = quota_store.get_quota(conn, project_id=project.id)
            if quota is not None:
                result["quota"] = {"hard": {"storage": quota.hard},
                                   "used": {"storage": quota.used}}
            return result

        return await self.db.run(run)

    async def logs(
        self, principal: Principal, ref: ProjectRef, listing: Listing
    ) -> tuple[builtins.list[AuditEntry], int]:
        def run(conn: Connection) -> tuple[list[AuditEntry], int]:
            access = authorize(conn, principal, ref, "log", "list")
            return listed(audit_store.list_audit, conn, listing, project_id=access.project.id)

        return await self.db.run(run)

    # -- metadata --------------------------------------------------------------------------

    async def metadata(self, principal: Principal, ref: ProjectRef) -> dict[str, str]:
        def run(conn: Connection) -> dict[str, str]:
            access = authorize(conn, principal, ref, "metadata", "read")
            return _view(conn, principal, access.project).metadata

        return await self.db.run(run)

    async def add_metadata(
        self, actor: Actor, ref: ProjectRef, values: dict[str, object]
    ) -> None:
        """Harbor's POST: exactly one key, refused with 409 if the project already has it."""
        key, value = _single(values)
        await self.db.run(_update_metadata, actor, ref, {key: value}, "add")

    async def set_metadata(self, actor: Actor, ref: ProjectRef, key: str, value: object) -> None:
        await self.db.run(_update_metadata, actor, ref, {key: normalize_metadata(key, value)},
                          "set")

    async def delete_metadata(self, actor: Actor, ref: ProjectRef, key: str) -> None:
        await self.db.run(_delete_metadata, actor, ref, key)


_SUMMARY_KEYS = {
    Role.PROJECT_ADMIN: "project_admin_count",
    Role.MAINTAINER: "maintainer_count",
    Role.DEVELOPER: "developer_count",
    Role.GUEST: "guest_count",
    Role.LIMITED_GUEST: "limited_guest_count",
}


def _single(values: dict[str, object]) -> tuple[str, str]:
    if len(values) != 1:
        raise Invalid("only allow one key/value pair")
    ((key, value),) = values.items()
    return key, normalize_metadata(key, value)


def _create(
    conn: Connection, actor: Actor, name: str, metadata: dict[str, str], storage_limit: int
) -> int:
    if project_store.get_project(conn, name) is not None:
        raise Conflict(f"The project named {name} already exists")
    values = dict(metadata)
    public = values.pop("public", "false") == "true"
    owner_id = actor.principal.user_id
    try:
        project_id = project_store.create_project(conn, name, owner_id, public)
    except IntegrityError:
        raise Conflict(f"The project named {name} already exists") from None
    project_store.put_project_metadata(conn, project_id, values)
    quota_store.create_quota(conn, project_id, storage_limit)
    if owner_id is not None:
        member_store.add_member(conn, project_id, "u", owner_id, int(Role.PROJECT_ADMIN))
    audit_store.write_audit(
        conn, [actor.record("create", "project", name, project_id,
                            {"public": public, "storage_limit": storage_limit})]
    )
    return project_id


def _update_metadata(
    conn: Connection, actor: Actor, ref: ProjectRef, values: dict[str, str], how: str
) -> None:
    """Apply metadata; ``how`` is "project" (PUT /projects), "add" (409 on an existing key;
    ``public`` always exists) or "set" (PUT of one key)."""
    resource, action = ("project", "update") if how == "project" else ("metadata", "update")
    project = authorize(conn, actor.principal, ref, resource, action).project
    if not values:
        return
    if how == "add":
        existing = project_store.project_metadata_values(conn, [project.id])[project.id]
        taken = [key for key in values if key == "public" or key in existing]
        if taken:
            raise Conflict(f"metadata {', '.join(taken)} already exists in project "
                           f"{project.name}")
    extra = dict(values)
    changes: dict[str, object] = {}
    if "public" in extra:
        changes["public"] = extra.pop("public") == "true"
    project_store.update_project(conn, project.id, **changes)
    project_store.put_project_metadata(conn, project.id, extra)
    changes.update(extra)
    resource_type = "project" if how == "project" else "project_metadata"
    audit_store.write_audit(
        conn, [actor.record("update", resource_type, project.name, project.id, changes)]
    )


def _delete_metadata(conn: Connection, actor: Actor, ref: ProjectRef, key: str) -> None:
    access = authorize(conn, actor.principal, ref, "metadata", "update")
    project = access.project
    if key == "public":
        raise Invalid("metadata public cannot be deleted; set it to 'false' instead")
    if not project_store.delete_project_metadata(conn, project.id, key):
        raise NotFound(f"metadata {key} not found in project {project.name}")
    project_store.update_project(conn, project.id)
    audit_store.write_audit(
        conn, [actor.record("delete", "project_metadata", f"{project.name}:{key}", project.id)]
    )


def _deletable(conn: Connection, project: ProjectRecord) -> tuple[bool, str]:
    if project_store.repository_counts(conn, [project.name])[project.name]:
        return False, "the project contains repositories, can not be deleted"
    return True, ""


def _delete(conn: Connection, actor: Actor, ref: ProjectRef) -> list[int]:
    """Delete the project; the ids of the webhook policies that went with it."""
    access = authorize(conn, actor.principal, ref, "project", "delete")
    project = access.project
    deletable, message = _deletable(conn, project)
    if not deletable:
        raise PreconditionFailed(message)
    retention_store.delete_project_policy(conn, project.id)  # and its schedule
    webhooks = webhook_store.delete_project_policies(conn, project.id)  # and executions
    project_store.delete_project(conn, project.id)
    # Detached like the project's other entries: its id may be handed out again.
    audit_store.write_audit(
        conn, [actor.record("delete", "project", project.name, None, {"project_id": project.id})]
    )
    return [policy.id for policy in webhooks]
