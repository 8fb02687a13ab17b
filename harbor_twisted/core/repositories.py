"""Repositories through the REST API: listing by visibility, description, deletion, search.

Access follows the project's permission matrix (``rbac``): the project is checked first
(401 anonymous, 404 unknown, 403 refused), then the repository is looked up (404). Deletes
remove database rows only; blob files are reclaimed by garbage collection.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from harbor_twisted.common.names import is_valid_name
from harbor_twisted.core import immutability
from harbor_twisted.core.audit import Actor, listed, roles_allowing
from harbor_twisted.core.errors import NotFound
from harbor_twisted.core.projects import Access, ProjectRef, authorize
from harbor_twisted.core.rbac import Principal
from harbor_twisted.db import audit_store, quota_store, repository_store
from harbor_twisted.db.engine import Database
from harbor_twisted.db.listing import Filter, Listing, Sort
from harbor_twisted.db.project_store import Visibility
from harbor_twisted.db.repository_store import RepositoryRecord, RepositoryScope

SEARCH_LIMIT = 100


@dataclass(frozen=True)
class Located:
    """A repository named in a path, with the caller's access to its project."""

    access: Access
    repository: RepositoryRecord


def locate(
    conn: Connection,
    principal: Principal,
    project_name: str,
    repository_name: str,
    resource: str,
    action: str,
    counted: bool = True,
) -> Located:
    """The repository ``project_name/repository_name`` if ``action`` on ``resource`` is
    allowed in its project; the project is checked first, as Harbor does. ``counted``
    False leaves its artifact count at 0 (counting 100,000 artifacts is not free)."""
    access = authorize(conn, principal, ProjectRef(project_name, is_name=True), resource,
                       action)
    full = f"{access.project.name}/{repository_name}"
    found = (repository_store.get_repository(conn, full, counted=counted)
             if is_valid_name(full) else None)
    if found is None:
        raise NotFound(f"repository {full} not found")
    return Located(access, found)


def visible_scope(principal: Principal) -> RepositoryScope:
    """Repositories of every project the caller may list repositories of: all for system
    admins, public projects and the caller's (or their groups') projects for others."""
    if principal.sysadmin:
        return RepositoryScope()
    if principal.kind == "robot":
        names = {g.namespace for g in principal.robot_grants
                 if g.resource == "repository" and g.action in ("list", "pull", "*")}
        if "*" in names:
            return RepositoryScope()
        return RepositoryScope(visibility=Visibility(include_public=True),
                               project_names=frozenset(names))
    return RepositoryScope(visibility=Visibility(
        include_public=True,
        user_id=principal.user_id if principal.kind == "user" else None,
        group_ids=principal.group_ids,
        roles=roles_allowing(principal, "repository", "list"),
    ))


class RepositoryService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_in_project(
        self, principal: Principal, project_name: str, listing: Listing
    ) -> tuple[list[RepositoryRecord], int]:
        def run(conn: Connection) -> tuple[list[RepositoryRecord], int]:
            access = authorize(conn, principal, ProjectRef(project_name, is_name=True),
                               "repository", "list")
            scope = RepositoryScope(project_id=access.project.id,
                                    project_name=access.project.name)
            return listed(repository_store.list_repositories, conn, listing, scope)

        return await self.db.run(run)

    async def list_all(
        self, principal: Principal, listing: Listing
    ) -> tuple[list[RepositoryRecord], int]:
        scope = visible_scope(principal)
        return await self.db.run(
            lambda conn: listed(repository_store.list_repositories, conn, listing, scope)
        )

    async def search(self, principal: Principal, text: str) -> list[RepositoryRecord]:
        """Repositories whose name contains ``text``, among those the caller may see."""
        listing = Listing((Filter("name", "fuzzy", (text,)),), (Sort("name"),), 1,
                          SEARCH_LIMIT)
        records, _ = await self.db.run(
            lambda conn: listed(repository_store.list_repositories, conn, listing,
                                visible_scope(principal))
        )
        return records

    async def get(
        self, principal: Principal, project_name: str, repository_name: str,
        counted: bool = True,
    ) -> RepositoryRecord:
        """The repository; its artifact count only when ``counted`` (a caller listing all
        its artifacts has that count as the list's total)."""
        def run(conn: Connection) -> RepositoryRecord:
            return locate(conn, principal, project_name, repository_name, "repository",
                          "read", counted=counted).repository

        return await self.db.run(run)

    async def update(
        self, actor: Actor, project_name: str, repository_name: str, description: str
    ) -> None:
        def run(conn: Connection) -> None:
            found = locate(conn, actor.principal, project_name, repository_name,
                           "repository", "update")
            repository = found.repository
            repository_store.set_description(conn, repository.id, description)
            audit_store.write_audit(conn, [actor.record(
                "update", "repository", repository.name, found.access.project.id,
                {"description": description},
            )])

        await self.db.run(run)

    async def delete(self, actor: Actor, project_name: str, repository_name: str) -> None:
        """Remove the repository and all its artifacts; each artifact and the repository
        get an audit entry, in the same transaction."""

        def run(conn: Connection) -> None:
            found = locate(conn, actor.principal, project_name, repository_name,
                           "repository", "delete")
            repository = found.repository
            immutability.check_repository_delete(conn, repository.name, repository.id)
            digests = repository_store.delete_repository(conn, repository.id)
            project_id = found.access.project.id
            quota_store.release(conn, project_id, found.access.project.name)
            records = [actor.record("delete", "artifact", f"{repository.name}@{digest}",
                                    project_id) for digest in digests]
            records.append(actor.record("delete", "repository", repository.name, project_id))
            audit_store.write_audit(conn, records)

        await self.db.run(run)
