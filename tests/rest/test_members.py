"""/projects/{p}/members: adding, reading, changing and removing members, by role."""

from __future__ import annotations

import pytest

from tests.rest.conftest import add_member, error_code, unique

ROLE_NAMES = {1: "projectAdmin", 2: "developer", 3: "guest", 4: "maintainer",
              5: "limitedGuest"}


def test_add_by_name_or_id_then_read_change_and_remove(admin, new_user, new_project):
    project = new_project()
    alice, bob = new_user(), new_user()
    response = admin.post(f"/projects/{project}/members",
                          json={"role_id": 2, "member_user": {"username": alice.username}})
    assert response.status_code == 201
    assert response.headers["Location"].startswith(f"/api/v2.0/projects/{project}/members/")
    alice_mid = int(response.headers["Location"].rsplit("/", 1)[1])
    bob_mid = add_member(admin, project, bob, 3)
    assert admin.post(f"/projects/{project}/members",
                      json={"role_id": 4, "member_user": {"user_id": bob.id}}).status_code == 409

    body = admin.get(f"/projects/{project}/members/{alice_mid}").json()
    project_id = admin.get(f"/projects/{project}").json()["project_id"]
    assert body == {"id": alice_mid, "project_id": project_id, "entity_name": alice.username,
                    "entity_id": alice.id, "entity_type": "u", "role_id": 2,
                    "role_name": "developer"}

    assert admin.put(f"/projects/{project}/members/{bob_mid}", json={"role_id": 4}) \
        .status_code == 200
    assert admin.get(f"/projects/{project}/members/{bob_mid}").json()["role_name"] == \
        "maintainer"
    assert admin.delete(f"/projects/{project}/members/{alice_mid}").status_code == 200
    assert admin.get(f"/projects/{project}/members/{alice_mid}").status_code == 404
    assert admin.delete(f"/projects/{project}/members/{alice_mid}").status_code == 404


def test_members_are_addressed_by_project_id_too(admin, new_user, new_project):
    project = new_project()
    project_id = admin.get(f"/projects/{project}").json()["project_id"]
    user = new_user()
    response = admin.post(f"/projects/{project_id}/members",
                          json={"role_id": 3, "member_user": {"user_id": user.id}})
    assert response.status_code == 201
    names = [m["entity_name"] for m in admin.get(f"/projects/{project_id}/members").json()]
    assert user.username in names


def test_list_filters_by_entityname_and_pages(admin, new_user, new_project):
    project = new_project()
    marker = unique("ent")
    users = [new_user(username=f"{marker}{i}") for i in range(3)]
    for user in users:
        add_member(admin, project, user, 2)
    response = admin.get(f"/projects/{project}/members",
                         params={"entityname": marker, "page_size": 2})
    assert response.headers["X-Total-Count"] == "3"
    assert len(response.json()) == 2 and 'rel="next"' in response.headers["Link"]
    everyone = admin.get(f"/projects/{project}/members").json()
    assert len(everyone) == 4  # the admin who created it, and three


@pytest.mark.parametrize(
    "body",
    [
        {"role_id": 0, "member_user": {"username": "x"}},
        {"role_id": 6, "member_user": {"username": "x"}},
        {"role_id": "2", "member_user": {"username": "x"}},
        {"role_id": 2},
        {"member_user": {"username": "x"}},
        {"role_id": 2, "member_user": {"user_id": "7"}},
        {"role_id": 2, "member_user": {"username": "x"}, "member_group": {"id": 1}},
        {"role_id": 2, "member_user": "x"},
    ],
)
def test_bad_member_requests_are_400(admin, new_project, body):
    response = admin.post(f"/projects/{new_project()}/members", json=body)
    assert response.status_code == 400, response.text


def test_unknown_user_or_group_is_404(admin, new_project):
    project = new_project()
    for body in ({"role_id": 2, "member_user": {"username": unique("ghost")}},
                 {"role_id": 2, "member_user": {"user_id": 999999}},
                 {"role_id": 2, "member_group": {"id": 999999}},
                 {"role_id": 2, "member_group": {"ldap_group_dn": "cn=none,dc=example,dc=com"}}):
        response = admin.post(f"/projects/{project}/members", json=body)
        assert response.status_code == 404, body
        assert error_code(response) == "NOT_FOUND"
    assert admin.post(f"/projects/{unique('none')}/members",
                      json={"role_id": 2, "member_user": {"username": "admin"}}).status_code \
        == 404


def test_bad_role_on_update_is_400(admin, new_user, new_project):
    project = new_project()
    mid = add_member(admin, project, new_user(), 2)
    for body in ({"role_id": 9}, {}, {"role_id": None}, {"role_id": True}):
        assert admin.put(f"/projects/{project}/members/{mid}", json=body).status_code == 400


@pytest.mark.parametrize("role_id", [1, 4, 2, 3, 5])
def test_role_matrix_for_members(admin, new_user, new_project, role_id):
    """Project Admins manage members; everyone but Limited Guests may list them."""
    project = new_project()
    caller, target = new_user(), new_user()
    add_member(admin, project, caller, role_id)
    target_mid = add_member(admin, project, target, 3)
    client = caller.client
    base = f"/projects/{project}/members"
    may_manage = role_id == 1
    may_list = role_id != 5

    listed = client.get(base)
    assert listed.status_code == (200 if may_list else 403)
    assert client.get(f"{base}/{target_mid}").status_code == (200 if may_list else 403)
    newcomer = new_user()
    added = client.post(base, json={"role_id": 3, "member_user": {"username": newcomer.username}})
    assert added.status_code == (201 if may_manage else 403), added.text
    if not may_manage:
        assert error_code(added) == "FORBIDDEN"
    changed = client.put(f"{base}/{target_mid}", json={"role_id": 2})
    assert changed.status_code == (200 if may_manage else 403)
    removed = client.delete(f"{base}/{target_mid}")
    assert removed.status_code == (200 if may_manage else 403)


def test_strangers_and_anonymous_are_refused(admin, new_user, new_project):
    project = new_project(public=True)
    stranger = new_user()
    base = f"/projects/{project}/members"
    assert stranger.client.get(base).status_code == 403
    assert admin.anonymous().get(base).status_code == 401
    assert admin.anonymous().post(base, json={"role_id": 2, "member_user": {"user_id": 1}}) \
        .status_code == 401
    assert stranger.client.post(base, json={"role_id": 1, "member_user": {
        "user_id": stranger.id}}).status_code == 403


def test_role_names_follow_harbor(admin, new_user, new_project):
    project = new_project()
    for role_id, name in ROLE_NAMES.items():
        mid = add_member(admin, project, new_user(), role_id)
        assert admin.get(f"/projects/{project}/members/{mid}").json()["role_name"] == name
