"""Tag immutability: per-project rules (Harbor's ``/immutabletagrules``) and the checks the
registry and the API run, inside their own transactions, before moving or deleting a tag.

A tag is immutable when any enabled rule of its project selects its repository and it.
Pushing the same digest to an immutable tag again is allowed (nothing moves).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select

from harbor_twisted.core.audit import Actor
from harbor_twisted.core.errors import Conflict, Invalid, NotFound, PreconditionFailed
from harbor_twisted.core.projects import ProjectRef, authorize
from harbor_twisted.core.rbac import Principal
from harbor_twisted.core.selectors import (
    TAG_DECORATIONS,
    check_scope,
    check_selectors,
    repository_selected,
    tag_selected,
)
from harbor_twisted.db import audit_store, immutable_store, quota_store
from harbor_twisted.db.engine import Database
from harbor_twisted.db.immutable_store import ImmutableRuleRecord
from harbor_twisted.db.models import manifest, repository, tag

MAX_RULES = 15
ACTION = "immutable"
TEMPLATE = "immutable_template"


class TagImmutable(PreconditionFailed):
    """A change would move or delete an immutable tag (412 in the API, DENIED in the
    registry)."""

    def __init__(self, repository_name: str, tag_name: str, change: str) -> None:
        self.repository_name = repository_name
        self.tag_name = tag_name
        super().__init__(f"the tag {tag_name} of {repository_name} is immutable: it cannot "
                         f"be {change}")


def rule_selects(rule: ImmutableRuleRecord, repository_name: str, tag_name: str) -> bool:
    return (not rule.disabled and repository_selected(rule.scope_selectors, repository_name)
            and tag_selected(rule.tag_selectors, tag_name))


def immutable_tags(conn: Connection, repository_name: str, tags: Iterable[str]) -> list[str]:
    """Which of ``tags`` of the repository enabled rules protect."""
    wanted = list(tags)
    if not wanted:
        return []
    found = quota_store.project_of(conn, repository_name)
    if found is None:
        return []
    rules = immutable_store.enabled_rules(conn, found[0])
    return [t for t in wanted if any(rule_selects(r, repository_name, t) for r in rules)]


def _tag_digest(conn: Connection, repository_name: str, tag_name: str) -> str | None:
    return conn.execute(
        select(manifest.c.digest)
        .select_from(tag.join(manifest, manifest.c.id == tag.c.manifest_id)
                     .join(repository, repository.c.id == tag.c.repository_id))
        .where(repository.c.name == repository_name, tag.c.name == tag_name)
    ).scalar()


def _tags_of_digest(conn: Connection, repository_name: str, digest: str) -> list[str]:
    return list(conn.execute(
        select(tag.c.name)
        .select_from(tag.join(manifest, manifest.c.id == tag.c.manifest_id)
                     .join(repository, repository.c.id == tag.c.repository_id))
        .where(repository.c.name == repository_name, manifest.c.digest == digest)
    ).scalars())


def check_tag_move(conn: Connection, repository_name: str, tag_name: str, digest: str) -> None:
    """Before a push points ``tag_name`` at ``digest``: refuse moving an immutable tag."""
    current = _tag_digest(conn, repository_name, tag_name)
    if current is not None and current != digest and immutable_tags(
            conn, repository_name, [tag_name]):
        raise TagImmutable(repository_name, tag_name, "overwritten")


def check_tag_delete(conn: Connection, repository_name: str, tag_name: str) -> None:
    if immutable_tags(conn, repository_name, [tag_name]):
        raise TagImmutable(repository_name, tag_name, "deleted")


def check_digest_delete(conn: Connection, repository_name: str, digest: str) -> None:
    """Deleting a manifest deletes its tags: refused while one of them is immutable."""
    protected = immutable_tags(conn, repository_name, _tags_of_digest(conn, repository_name,
                                                                      digest))
    if protected:
        raise TagImmutable(repository_name, protected[0], "deleted")


# -- rules through the API ----------------------------------------------------------------


def check_rule(data: Any) -> dict[str, Any]:
    """Harbor's ``ImmutableRule`` body, checked; unknown members are ignored."""
    if not isinstance(data, dict):
        raise Invalid("the body must be a JSON object")
    disabled = data.get("disabled", False)
    if not isinstance(disabled, bool):
        raise Invalid("disabled must be true or false")
    priority = data.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int) or not (
            -(2**31) <= priority < 2**31):
        raise Invalid("priority must be an integer")
    action = data.get("action") or ACTION
    if action != ACTION:
        raise Invalid(f"action must be {ACTION}")
    template = data.get("template") or TEMPLATE
    if template != TEMPLATE:
        raise Invalid(f"template must be {TEMPLATE}")
    return {
        "priority": priority, "disabled": disabled, "action": action, "template": template,
        "tag_selectors": check_selectors(data.get("tag_selectors"), TAG_DECORATIONS,
                                         "tag_selectors"),
        "scope_selectors": check_scope(data.get("scope_selectors")),
    }


def _same_selectors(record: ImmutableRuleRecord, rule: dict[str, Any]) -> bool:
    return (record.tag_selectors == rule["tag_selectors"]
            and record.scope_selectors == rule["scope_selectors"])


class ImmutabilityService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(
        self, principal: Principal, ref: ProjectRef, offset: int, limit: int
    ) -> tuple[list[ImmutableRuleRecord], int]:
        def run(conn: Connection) -> tuple[list[ImmutableRuleRecord], int]:
            access = authorize(conn, principal, ref, "immutable-tag", "list")
            return immutable_store.list_rules(conn, access.project.id, offset, limit)

        return await self.db.run(run)

    async def create(self, actor: Actor, ref: ProjectRef, data: Any) -> int:
        rule = check_rule(data)

        def run(conn: Connection) -> int:
            project = authorize(conn, actor.principal, ref, "immutable-tag", "create").project
            existing = immutable_store.all_rules(conn, project.id)
            if len(existing) >= MAX_RULES:
                raise Invalid(f"a project has at most {MAX_RULES} immutability rules")
            if any(_same_selectors(r, rule) for r in existing):
                raise Conflict("an immutability rule with the same selectors already exists")
            rule_id = immutable_store.create_rule(conn, project.id, rule)
            audit_store.write_audit(conn, [actor.record(
                "create", "immutable_rule", f"{project.name}/immutabletagrules/{rule_id}",
                project.id, rule)])
            return rule_id

        return await self.db.run(run)

    async def update(self, actor: Actor, ref: ProjectRef, rule_id: int, data: Any) -> None:
        """Harbor lets a PUT carry only ``disabled`` (enable/disable from the UI)."""

        def run(conn: Connection) -> None:
            project = authorize(conn, actor.principal, ref, "immutable-tag", "update").project
            found = immutable_store.get_rule(conn, project.id, rule_id)
            if found is None:
                raise NotFound(f"immutability rule {rule_id} not found")
            merged = {"priority": found.priority, "disabled": found.disabled,
                      "action": found.action, "template": found.template,
                      "tag_selectors": found.tag_selectors,
                      "scope_selectors": found.scope_selectors}
            if isinstance(data, dict):
                merged.update({k: v for k, v in data.items() if k in merged and v is not None})
            rule = check_rule(merged)
            others = [r for r in immutable_store.all_rules(conn, project.id) if r.id != rule_id]
            if any(_same_selectors(r, rule) for r in others):
                raise Conflict("an immutability rule with the same selectors already exists")
            immutable_store.update_rule(conn, project.id, rule_id, rule)
            audit_store.write_audit(conn, [actor.record(
                "update", "immutable_rule", f"{project.name}/immutabletagrules/{rule_id}",
                project.id, rule)])

        await self.db.run(run)

    async def delete(self, actor: Actor, ref: ProjectRef, rule_id: int) -> None:
        def run(conn: Connection) -> None:
            project = authorize(conn, actor.principal, ref, "immutable-tag", "delete").project
            if not immutable_store.delete_rule(conn, project.id, rule_id):
                raise NotFound(f"immutability rule {rule_id} not found")
            audit_store.write_audit(conn, [actor.record(
                "delete", "immutable_rule", f"{project.name}/immutabletagrules/{rule_id}",
                project.id)])

        await self.db.run(run)


def check_repository_delete(conn: Connection, repository_name: str, repository_id: int) -> None:
    """Deleting a repository deletes its tags: refused while one of them is immutable."""
    names = conn.execute(select(tag.c.name).where(tag.c.repository_id == repository_id))
    protected = immutable_tags(conn, repository_name, names.scalars())
    if protected:
        raise TagImmutable(repository_name, protected[0], "deleted")
