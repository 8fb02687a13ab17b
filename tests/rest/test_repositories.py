"""Repositories through the REST API: lists with filters and paging, visibility, the
description, deletion by role and the audit trail."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.rest.artifact_helpers import audit, ok, push_index, repo_path
from tests.rest.conftest import add_member, create_project, error_code, unique
from tests.support.oci import push_image
from tests.support.server import admin_http


def _names(response):
    return [r["name"] for r in ok(response)]


def test_list_filter_sort_and_page(registry, admin):
    project = create_project(admin)
    for name in ("alpha", "beta", "team/gamma"):
        push_image(registry.url, f"{project}/{name}", tag="latest")
    push_index(registry.url, f"{project}/alpha")
    listed = admin.get(f"/projects/{project}/repositories")
    assert listed.headers["X-Total-Count"] == "3"
    assert _names(listed) == [f"{project}/team/gamma", f"{project}/beta", f"{project}/alpha"]
    first = listed.json()[2]
    assert set(first) == {"id", "project_id", "name", "description", "artifact_count",
                          "pull_count", "creation_time", "update_time"}
    assert first["artifact_count"] == 2 and first["pull_count"] == 0
    assert first["description"] == ""
    created = datetime.fromisoformat(first["creation_time"].replace("Z", "+00:00"))
    updated = datetime.fromisoformat(first["update_time"].replace("Z", "+00:00"))
    assert updated >= created

    path = f"/projects/{project}/repositories"
    assert _names(admin.get(path, params={"sort": "name"}))[0] == f"{project}/alpha"
    assert _names(admin.get(path, params={"sort": "-update_time"}))[0] == f"{project}/alpha"
    assert _names(admin.get(path, params={"q": "name=~eta"})) == [f"{project}/beta"]
    assert _names(admin.get(path, params={"q": "name=~team/"})) == [f"{project}/team/gamma"]
    paged = admin.get(path, params={"sort": "-name", "page": 2, "page_size": 2})
    assert _names(paged) == [f"{project}/alpha"]
    assert 'rel="prev"' in paged.headers["Link"]
    assert admin.get(path, params={"sort": "stars"}).status_code == 400
    assert admin.get(f"/projects/{unique('none')}/repositories").status_code == 404


def test_get_update_and_delete(registry, admin):
    project = create_project(admin)
    full = f"{project}/team/app"
    image = push_image(registry.url, full, tag="latest")
    path = repo_path(project, "team/app")
    repository = ok(admin.get(path))
    assert repository["name"] == full and repository["artifact_count"] == 1
    assert repository["project_id"] == ok(admin.get(f"/projects/{project}"))["project_id"]

    ok(admin.put(path, json={"description": "the app"}))
    assert ok(admin.get(path))["description"] == "the app"
    assert admin.put(path, json={"description": 5}).status_code == 400
    assert admin.get(repo_path(project, "nope")).status_code == 404
    assert admin.get(repo_path(project, "BAD NAME")).status_code == 404

    deletable = ok(admin.get(f"/projects/{project}/_deletable"))
    assert deletable["deletable"] is False
    ok(admin.delete(path))
    assert admin.get(path).status_code == 404
    assert admin.delete(path).status_code == 404
    fetched = admin_http.get(f"{registry.url}/v2/{full}/manifests/latest", timeout=30)
    assert fetched.status_code == 404
    assert ok(admin.get(f"/projects/{project}/_deletable"))["deletable"] is True
    entries = [e for e in audit(admin, full) if e[0] != "pull"]
    assert entries[:3] == [("delete", "repository", full),
                           ("delete", "artifact", f"{full}@{image.digest}"),
                           ("update", "repository", full)]
    push_image(registry.url, full, tag="again")  # the name can be pushed again
    assert ok(admin.get(path))["artifact_count"] == 1


@pytest.mark.parametrize(
    ("role", "read", "update", "delete"),
    [
        (1, 200, 200, 200),
        (4, 200, 200, 200),
        (2, 200, 200, 403),
        (3, 200, 403, 403),
        (None, 403, 403, 403),
    ],
)
def test_permissions_by_role(registry, admin, new_user, role, read, update, delete):
    project = create_project(admin)
    push_image(registry.url, f"{project}/app", tag="latest")
    user = new_user()
    if role is not None:
        add_member(admin, project, user, role)
    path = repo_path(project, "app")
    assert user.client.get(f"/projects/{project}/repositories").status_code == read
    assert user.client.get(path).status_code == read
    assert user.client.put(path, json={"description": "x"}).status_code == update
    response = user.client.delete(path)
    assert response.status_code == delete
    if delete == 403:
        assert error_code(response) == "FORBIDDEN"


def test_all_repositories_by_visibility(registry, admin, new_user):
    marker = unique("vis")
    public = create_project(admin, public=True, name=f"{marker}pub")
    private = create_project(admin, name=f"{marker}priv")
    mine = create_project(admin, name=f"{marker}mine")
    for project in (public, private, mine):
        push_image(registry.url, f"{project}/app", tag="latest")
    user = new_user()
    add_member(admin, mine, user, 3)

    def visible(client):
        response = client.get("/repositories", params={"q": f"name=~{marker}", "sort": "name",
                                                       "page_size": 100})
        return _names(response)

    assert visible(admin) == [f"{mine}/app", f"{private}/app", f"{public}/app"]
    assert visible(user.client) == [f"{mine}/app", f"{public}/app"]
    assert visible(admin.anonymous()) == [f"{public}/app"]
    anonymous = admin.anonymous()
    assert anonymous.get(repo_path(public, "app")).status_code == 200
    assert anonymous.get(repo_path(private, "app")).status_code == 401
    assert anonymous.delete(repo_path(public, "app")).status_code == 401
    assert anonymous.put(repo_path(public, "app"), json={}).status_code == 401
