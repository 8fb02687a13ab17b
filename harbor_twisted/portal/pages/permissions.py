"""What the caller may do in a project, asked of ``core.rbac`` (the REST API's one rule set)
so the pages show only the buttons that would work."""

from __future__ import annotations

from harbor_twisted.core import rbac
from harbor_twisted.core.projects import ProjectView
from harbor_twisted.core.rbac import Principal, Role

ROLE_LABELS = {
    Role.PROJECT_ADMIN: "Project Admin",
    Role.MAINTAINER: "Maintainer",
    Role.DEVELOPER: "Developer",
    Role.GUEST: "Guest",
    Role.LIMITED_GUEST: "Limited Guest",
}


def role_labels(role_ids: tuple[int, ...] | list[int]) -> str:
    """Role ids as people read them; "—" for none."""
    known = [ROLE_LABELS[Role(r)] for r in role_ids if r in Role._value2member_map_]
    return ", ".join(known) or "—"


def may(principal: Principal, view: ProjectView, resource: str, action: str,
        read_only: bool = False) -> bool:
    return rbac.allowed(
        principal, resource, action, project_name=view.project.name,
        project_public=view.project.public,
        roles=[Role(r) for r in view.role_ids if r in Role._value2member_map_],
        read_only=read_only,
    )


def project_abilities(principal: Principal, view: ProjectView,
                      read_only: bool) -> dict[str, bool]:
    """The switches the project's templates read."""
    return {
        "list_members": may(principal, view, "member", "list"),
        "manage_members": may(principal, view, "member", "create"),
        "list_robots": may(principal, view, "robot", "list"),
        "manage_robots": may(principal, view, "robot", "create"),
        "list_logs": may(principal, view, "log", "list"),
        "list_webhooks": may(principal, view, "webhook", "list"),
        "manage_webhooks": may(principal, view, "webhook", "create"),
        "list_immutable": may(principal, view, "immutable-tag", "list"),
        "manage_immutable": may(principal, view, "immutable-tag", "create"),
        "read_retention": may(principal, view, "tag-retention", "read"),
        "manage_retention": may(principal, view, "tag-retention", "update", read_only),
        "describe_repository": may(principal, view, "repository", "update"),
        "delete_repository": may(principal, view, "repository", "delete", read_only),
        "create_tag": may(principal, view, "tag", "create", read_only),
        "delete_tag": may(principal, view, "tag", "delete", read_only),
        "delete_artifact": may(principal, view, "artifact", "delete", read_only),
    }
