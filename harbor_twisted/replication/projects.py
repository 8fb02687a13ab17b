"""Destination projects: Harbor creates a missing one before replicating into it.

Into this installation (pull-based), the project is created private, owned by the admin,
and audited. Into a remote of type ``harbor`` (which includes harbor-twisted), it is
created through the remote's API with the endpoint's credentials. A ``docker-registry``
remote has no projects, so nothing is done there.
"""

from __future__ import annotations

from typing import Any

import requests
from sqlalchemy import Connection

from harbor_twisted.db import audit_store, member_store, project_store, user_store
from harbor_twisted.replication.client import TIMEOUT, RegistryClient, RegistryClientError

ACTOR = "harbor-replication"


def project_of(repository: str) -> str | None:
    project, separator, _ = repository.partition("/")
    return project if separator and project else None


def ensure_local_project(conn: Connection, name: str) -> bool:
    """Create the project here when missing; True when it was created."""
    if project_store.get_project(conn, name) is not None:
        return False
    admin = user_store.get_user_by_name(conn, "admin")
    owner = admin.id if admin else None
    project_id = project_store.create_project(conn, name, owner, False)
    if owner is not None:
        member_store.add_member(conn, project_id, "u", owner, 1)  # Project Admin
    audit_store.write_audit(conn, [audit_store.AuditRecord(
        username=ACTOR, operation="create", resource_type="project", resource=name,
        project_id=project_id, detail={"reason": "replication destination"})])
    return True


def ensure_remote_project(client: RegistryClient, name: str) -> bool:
    """Create the project on a Harbor-compatible remote when missing; True when created."""
    api = f"{client.base_url}/api/v2.0/projects"
    auth: Any = client.basic_credentials
    found = client.session.head(api, params={"project_name": name}, auth=auth, timeout=TIMEOUT)
    if found.status_code == 200:
        return False
    if found.status_code != 404:
        raise RegistryClientError(
            f"cannot check project {name} on {client.base_url}: HTTP {found.status_code}",
            found.status_code)
    created = client.session.post(api, json={"project_name": name, "metadata": {
        "public": "false"}}, auth=auth, timeout=TIMEOUT)
    if created.status_code not in (201, 409):  # 409: created meanwhile by someone else
        raise RegistryClientError(
            f"cannot create project {name} on {client.base_url}: HTTP {created.status_code} "
            f"{_message(created)}", created.status_code)
    return created.status_code == 201


def _message(response: requests.Response) -> str:
    try:
        return str(response.json()["errors"][0]["message"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""
