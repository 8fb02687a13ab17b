"""``/search``: projects and repositories by name, only what the caller may see."""

from __future__ import annotations

from tests.rest.artifact_helpers import eventually, ok, pull
from tests.rest.conftest import add_member, create_project, unique
from tests.support.oci import push_image


def _found(client, text):
    result = ok(client.get("/search", params={"q": text}))
    return ([p["name"] for p in result["project"]],
            [r["repository_name"] for r in result["repository"]])


def test_search_shows_only_what_the_caller_may_read(registry, admin, new_user):
    marker = unique("find")
    public = create_project(admin, public=True, name=f"{marker}a")
    private = create_project(admin, name=f"{marker}b")
    member_of = create_project(admin, name=f"{marker}c")
    for project in (public, private, member_of):
        push_image(registry.url, f"{project}/web", tag="latest")
    user = new_user()
    add_member(admin, member_of, user, 5)  # even a limited guest sees the project

    assert _found(admin, marker) == (
        [public, private, member_of], [f"{public}/web", f"{private}/web", f"{member_of}/web"])
    assert _found(user.client, marker) == (
        [public, member_of], [f"{public}/web", f"{member_of}/web"])
    assert _found(admin.anonymous(), marker) == ([public], [f"{public}/web"])
    assert _found(user.client, f"{private}/web") == ([], [])


def test_search_result_shapes(registry, admin):
    project = create_project(admin, public=True, name=unique("shape"))
    push_image(registry.url, f"{project}/deep/repo", tag="latest")
    pull(registry.url, f"{project}/deep/repo", "latest")
    result = eventually(lambda: (r := ok(admin.get("/search", params={"q": project})))
                        ["repository"][0]["pull_count"] == 1 and r)
    assert result, "the pull was never counted"
    (found,) = result["repository"]
    assert found == {
        "project_id": result["project"][0]["project_id"],
        "project_name": project,
        "project_public": True,
        "repository_name": f"{project}/deep/repo",
        "pull_count": 1,
        "artifact_count": 1,
    }
    assert result["project"][0]["repo_count"] == 1


def test_search_needs_q(admin):
    assert admin.get("/search").status_code == 400
    assert ok(admin.get("/search", params={"q": unique("nothing")})) == {
        "project": [], "repository": []}
