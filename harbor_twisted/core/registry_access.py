"""What a principal may do on one registry scope: the token service and the registry's
Basic check ask the same question, so they share this answer."""

from __future__ import annotations

from collections.abc import Sequence

from harbor_twisted.common.names import is_valid_name
from harbor_twisted.core.identity import IdentityService
from harbor_twisted.core.rbac import Principal, registry_actions


async def scope_actions(
    identity: IdentityService, principal: Principal, kind: str, name: str,
    actions: Sequence[str],
) -> list[str]:
    """The subset of ``actions`` on ``kind:name`` the permission matrix grants."""
    if kind == "registry" and name == "catalog":
        return ["*"] if principal.sysadmin and "*" in actions else []
    if kind != "repository" or not is_valid_name(name) or "/" not in name:
        return []
    project_name = name.split("/", 1)[0]
    access = await identity.project_access(principal, project_name)
    if access.project is None:
        return []
    return registry_actions(
        principal,
        actions,
        project_name=project_name,
        project_public=access.project.public,
        roles=access.roles,
        read_only=identity.read_only,
    )
