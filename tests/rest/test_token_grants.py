"""Docker tokens follow project membership managed through the API."""

from __future__ import annotations

import base64
import json

import requests

from tests.rest.conftest import add_member


def _granted(registry, user, scope):
    response = requests.get(f"{registry.url}/service/token",
                            params={"service": "harbor-registry", "scope": scope},
                            auth=(user.username, user.password), timeout=30)
    assert response.status_code == 200, response.text
    claims = json.loads(base64.urlsafe_b64decode(response.json()["token"].split(".")[1] + "=="))
    return [action for entry in claims["access"] for action in entry["actions"]]


def test_token_grants_follow_membership(registry, admin, new_user, new_project):
    project = new_project()
    developer, guest, stranger = new_user(), new_user(), new_user()
    developer_mid = add_member(admin, project, developer, 2)
    add_member(admin, project, guest, 3)
    scope = f"repository:{project}/x:pull,push"
    assert _granted(registry, developer, scope) == ["pull", "push"]
    assert _granted(registry, guest, scope) == ["pull"]
    assert _granted(registry, stranger, scope) == []

    admin.put(f"/projects/{project}/members/{developer_mid}", json={"role_id": 3})
    assert _granted(registry, developer, scope) == ["pull"]
    admin.delete(f"/projects/{project}/members/{developer_mid}")
    assert _granted(registry, developer, scope) == []
    admin.put(f"/projects/{project}", json={"metadata": {"public": "true"}})
    assert _granted(registry, stranger, scope) == ["pull"]
