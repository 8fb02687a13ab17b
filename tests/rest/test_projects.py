"""/projects: create by restriction and grammar, visibility, update, summary, delete."""

from __future__ import annotations

import pytest

from tests.rest.conftest import (
    Client,
    add_member,
    create_project,
    create_user,
    error_code,
    unique,
)
from tests.support.oci import push_image


def test_create_makes_the_creator_project_admin(admin, new_user):
    user = new_user()
    name = unique("mine")
    response = user.client.post("/projects", json={"project_name": name})
    assert response.status_code == 201
    project_id = int(response.headers["Location"].rsplit("/", 1)[1])
    body = user.client.get(f"/projects/{project_id}").json()
    assert body["name"] == name and body["owner_name"] == user.username
    assert body["owner_id"] == user.id
    assert body["metadata"] == {"public": "false"}
    assert body["current_user_role_id"] == 1 and body["current_user_role_ids"] == [1]
    assert body["repo_count"] == 0
    members = user.client.get(f"/projects/{name}/members").json()
    assert [(m["entity_name"], m["role_name"]) for m in members] == \
        [(user.username, "projectAdmin")]


def test_location_can_carry_the_name(admin):
    name = unique("loc")
    response = admin.post("/projects", json={"project_name": name},
                          headers={"X-Resource-Name-In-Location": "true"})
    assert response.headers["Location"] == f"/api/v2.0/projects/{name}"


@pytest.mark.parametrize(
    "name", ["", "UPPER", "under_", "-lead", "a..b", "a/b", "spa ce", "x" * 256, "12345", "é"]
)
def test_project_name_grammar(admin, name):
    response = admin.post("/projects", json={"project_name": name})
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("stem", ["a", "a.b_c-d", "0day", "x" * 245])
def test_good_project_names(admin, stem):
    name = stem + (unique("") if len(stem) > 100 else unique("-"))  # at most 255 characters
    assert admin.post("/projects", json={"project_name": name}).status_code == 201


def test_duplicate_is_409_and_bad_public_is_400(admin, new_project):
    name = new_project()
    response = admin.post("/projects", json={"project_name": name})
    assert response.status_code == 409 and error_code(response) == "CONFLICT"
    bad = admin.post("/projects", json={"project_name": unique("b"),
                                        "metadata": {"public": "yes"}})
    assert bad.status_code == 400
    assert admin.post("/projects", json={"project_name": unique("b"),
                                         "metadata": {"public": True}}).status_code == 400
    assert admin.post("/projects", json={"project_name": unique("b"),
                                         "registry_id": 3}).status_code == 400


def test_deprecated_public_flag_and_other_metadata(admin):
    name = unique("pub")
    response = admin.post("/projects", json={"project_name": name, "public": True,
                                             "metadata": {"auto_scan": "TRUE",
                                                          "severity": "High",
                                                          "unknown_key": "ignored"}})
    assert response.status_code == 201
    assert admin.get(f"/projects/{name}").json()["metadata"] == \
        {"public": "true", "auto_scan": "true", "severity": "high"}


def test_anonymous_cannot_create(admin):
    assert admin.anonymous().post("/projects", json={"project_name": unique("a")}).status_code \
        == 401


def test_visibility_of_public_and_private_projects(admin, new_user, new_project):
    public, private = new_project(public=True), new_project()
    member, stranger = new_user(), new_user()
    add_member(admin, private, member, 3)
    anonymous = admin.anonymous()

    def names(client, **params):
        response = client.get("/projects", params={"page_size": 100, **params})
        assert response.status_code == 200
        return {p["name"] for p in response.json()}

    assert public in names(anonymous) and private not in names(anonymous)
    assert names(anonymous, public="false") == set()
    assert {public, private} <= names(member.client)
    assert private in names(member.client, public="false")
    assert public not in names(member.client, public="false")
    assert public in names(stranger.client) and private not in names(stranger.client)
    assert {public, private} <= names(admin)

    assert anonymous.get(f"/projects/{public}").status_code == 200
    assert anonymous.get(f"/projects/{private}").status_code == 401
    assert stranger.client.get(f"/projects/{private}").status_code == 403
    guest_view = member.client.get(f"/projects/{private}").json()
    assert guest_view["current_user_role_ids"] == [3]
    assert stranger.client.get(f"/projects/{unique('none')}").status_code == 404
    assert anonymous.get(f"/projects/{unique('none')}").status_code == 401


def test_filter_by_owner_and_public(admin, new_user):
    user = new_user()
    mine = create_project(user.client)
    response = admin.get("/projects", params={"owner": user.username})
    assert [p["name"] for p in response.json()] == [mine]
    assert admin.get("/projects", params={"q": f"owner={user.username},public=true"}).json() \
        == []


def test_head_tells_whether_a_name_is_taken(admin, new_user, new_project):
    private, public = new_project(), new_project(public=True)
    user = new_user()
    assert user.client.head("/projects", params={"project_name": private}).status_code == 200
    assert user.client.head("/projects", params={"project_name": unique("f")}).status_code == 404
    assert admin.head("/projects").status_code == 400
    anonymous = admin.anonymous()
    assert anonymous.head("/projects", params={"project_name": public}).status_code == 200
    assert anonymous.head("/projects", params={"project_name": private}).status_code == 401


def test_name_or_id_and_the_is_resource_name_header(admin):
    digits_name = unique("7x")  # starts with a digit, never all digits (a random hex tail can be)
    create_project(admin, name=digits_name)
    project = admin.get(f"/projects/{digits_name}").json()
    assert admin.get(f"/projects/{project['project_id']}").json()["name"] == digits_name
    as_name = admin.get(f"/projects/{project['project_id']}",
                        headers={"X-Is-Resource-Name": "true"})
    assert as_name.status_code == 404


def test_update_toggles_public_and_needs_project_admin(admin, new_user, new_project):
    name = new_project()
    developer, owner = new_user(), new_user()
    add_member(admin, name, developer, 2)
    add_member(admin, name, owner, 1)
    body = {"metadata": {"public": "true"}}
    assert developer.client.put(f"/projects/{name}", json=body).status_code == 403
    assert admin.anonymous().put(f"/projects/{name}", json=body).status_code == 401
    assert owner.client.put(f"/projects/{name}", json=body).status_code == 200
    assert admin.anonymous().get(f"/projects/{name}").json()["metadata"]["public"] == "true"
    assert owner.client.put(f"/projects/{name}", json={"metadata": {"public": "nah"}}) \
        .status_code == 400
    assert owner.client.put(f"/projects/{name}", json={"public": False}).status_code == 200
    assert admin.anonymous().get(f"/projects/{name}").status_code == 401
    assert admin.put(f"/projects/{unique('none')}", json=body).status_code == 404


def test_summary_counts_repositories_and_members(registry, admin, new_user, new_project):
    name = new_project()
    developer, limited = new_user(), new_user()
    add_member(admin, name, developer, 2)
    add_member(admin, name, limited, 5)
    push_image(registry.url, f"{name}/app")
    summary = admin.get(f"/projects/{name}/summary").json()
    assert summary["repo_count"] == 1
    assert summary["project_admin_count"] == 1 and summary["developer_count"] == 1
    assert summary["limited_guest_count"] == 1 and summary["guest_count"] == 0
    limited_view = limited.client.get(f"/projects/{name}/summary").json()
    assert limited_view["repo_count"] == 1 and "developer_count" not in limited_view
    assert admin.get(f"/projects/{name}").json()["repo_count"] == 1


def test_delete_is_refused_while_repositories_exist(registry, admin, new_user, new_project):
    full, empty = new_project(), new_project()
    push_image(registry.url, f"{full}/app")
    deletable = admin.get(f"/projects/{full}/_deletable").json()
    assert deletable == {"deletable": False,
                         "message": "the project contains repositories, can not be deleted"}
    response = admin.delete(f"/projects/{full}")
    assert response.status_code == 412 and error_code(response) == "PRECONDITION"
    maintainer = new_user()
    add_member(admin, empty, maintainer, 4)
    assert maintainer.client.delete(f"/projects/{empty}").status_code == 403
    assert admin.get(f"/projects/{empty}/_deletable").json()["deletable"] is True
    assert admin.delete(f"/projects/{empty}").status_code == 200
    assert admin.get(f"/projects/{empty}").status_code == 404
    assert admin.delete(f"/projects/{empty}").status_code == 404


def test_a_project_named_like_a_prefix_does_not_count_others_repositories(registry, admin):
    base = unique("pre")
    create_project(admin, name=base)
    create_project(admin, name=base + "x")
    push_image(registry.url, f"{base}x/app")
    assert admin.get(f"/projects/{base}/summary").json()["repo_count"] == 0
    assert admin.delete(f"/projects/{base}").status_code == 200


def test_project_admin_creation_restriction(start_registry):
    server = start_registry({"HT_PROJECT_CREATION_RESTRICTION": "adminonly"})
    admin = Client(server.url, ("admin", server.admin_password))
    user = create_user(admin)
    response = user.client.post("/projects", json={"project_name": unique("no")})
    assert response.status_code == 403
    assert response.json()["errors"][0]["message"] == "Only system admin can create project"
    assert admin.post("/projects", json={"project_name": unique("yes")}).status_code == 201
    info = admin.get("/systeminfo").json()
    assert info["project_creation_restriction"] == "adminonly"
