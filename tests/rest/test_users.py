"""/users: create, read, search, update, passwords, the admin flag and deletion."""

from __future__ import annotations

import pytest

from tests.rest.conftest import PASSWORD, create_user, error_code, unique


def test_create_then_read_as_harbor_shapes_it(admin, new_user):
    user = new_user(realname="Ada Lovelace", comment="analyst")
    body = admin.get(f"/users/{user.id}").json()
    assert body["username"] == user.username
    assert body["email"] == f"{user.username}@example.com"
    assert body["realname"] == "Ada Lovelace" and body["comment"] == "analyst"
    assert body["sysadmin_flag"] is False and body["admin_role_in_auth"] is False
    assert body["creation_time"].endswith("Z") and "password" not in str(body).lower()
    assert user.client.get("/users/current").json()["user_id"] == user.id


def test_admin_is_the_current_user(admin):
    body = admin.get("/users/current").json()
    assert body["username"] == "admin" and body["sysadmin_flag"] is True
    assert admin.anonymous().get("/users/current").status_code == 401


@pytest.mark.parametrize(
    "fields",
    [
        {"username": ""},
        {"username": "bad name"},
        {"username": "comma,name"},
        {"username": "robot$x"},
        {"username": "colon:name"},
        {"username": "x" * 256},
        {"email": ""},
        {"email": "not-an-email"},
        {"realname": "r" * 256},
        {"password": "short1A"},
        {"password": "alllowercase1"},
        {"password": "NoDigitsHere"},
        {"password": "x" * 129 + "A1"},
    ],
)
def test_invalid_new_users_are_400(admin, fields):
    body = {"username": unique("v"), "email": f"{unique('v')}@example.com",
            "password": PASSWORD, **fields}
    response = admin.post("/users", json=body)
    assert response.status_code == 400, response.text
    assert error_code(response) == "BAD_REQUEST"


def test_password_policy_message_says_what_is_missing(admin):
    response = admin.post("/users", json={"username": unique("p"), "password": "lowercase1",
                                          "email": f"{unique('p')}@example.com"})
    assert "upper case" in response.json()["errors"][0]["message"]


def test_duplicate_username_or_email_is_409(admin, new_user):
    user = new_user()
    again = admin.post("/users", json={"username": user.username, "password": PASSWORD,
                                       "email": f"{unique('x')}@example.com"})
    assert again.status_code == 409 and error_code(again) == "CONFLICT"
    same_mail = admin.post("/users", json={"username": unique("y"), "password": PASSWORD,
                                           "email": f"{user.username}@EXAMPLE.com"})
    assert same_mail.status_code == 409


def test_only_admins_create_users_without_self_registration(admin, new_user):
    body = {"username": unique("n"), "password": PASSWORD, "email": f"{unique('n')}@ex.com"}
    assert admin.anonymous().post("/users", json=body).status_code == 401
    assert new_user().client.post("/users", json=body).status_code == 403


def test_list_filters_sorts_and_pages_users(admin, new_user):
    marker = unique("lst")
    made = [new_user(username=f"{marker}{i}") for i in range(3)]
    response = admin.get("/users", params={"q": f"username=~{marker}", "sort": "-username",
                                           "page_size": 2})
    assert response.headers["X-Total-Count"] == "3"
    assert [u["username"] for u in response.json()] == [made[2].username, made[1].username]
    assert 'rel="next"' in response.headers["Link"]
    by_param = admin.get("/users", params={"username": marker})
    assert by_param.headers["X-Total-Count"] == "3"
    exact = admin.get("/users", params={"q": f"email={made[0].username}@example.com"})
    assert [u["user_id"] for u in exact.json()] == [made[0].id]


def test_search_is_open_to_users_and_shows_only_names(admin, new_user):
    marker = unique("srch")
    target = new_user(username=f"{marker}-target")
    caller = new_user()
    response = caller.client.get("/users/search", params={"username": marker})
    assert response.status_code == 200
    assert response.json() == [{"user_id": target.id, "username": target.username}]
    assert response.headers["X-Total-Count"] == "1"
    assert caller.client.get("/users/search").status_code == 400
    assert admin.anonymous().get("/users/search", params={"username": "a"}).status_code == 401


def test_users_read_and_update_only_themselves(admin, new_user):
    alice, bob = new_user(), new_user()
    assert alice.client.get(f"/users/{bob.id}").status_code == 403
    assert alice.client.put(f"/users/{bob.id}", json={"realname": "x"}).status_code == 403
    assert alice.client.put(f"/users/{alice.id}", json={"realname": "Alice A.",
                                                        "comment": "hi"}).status_code == 200
    body = alice.client.get(f"/users/{alice.id}").json()
    assert body["realname"] == "Alice A." and body["comment"] == "hi"
    assert body["email"] == f"{alice.username}@example.com"  # untouched
    taken = alice.client.put(f"/users/{alice.id}", json={"email": f"{bob.username}@example.com"})
    assert taken.status_code == 409
    assert alice.client.put(f"/users/{alice.id}", json={"email": "nope"}).status_code == 400
    assert admin.put(f"/users/{bob.id}", json={"comment": "by admin"}).status_code == 200
    assert admin.get("/users/999999").status_code == 404
    assert admin.put("/users/999999", json={"comment": "x"}).status_code == 404


def test_password_change_needs_the_old_one_and_the_policy(admin, new_user):
    user = new_user()
    path = f"/users/{user.id}/password"
    assert user.client.put(path, json={"new_password": "Another-Pass2"}).status_code == 403
    wrong = user.client.put(path, json={"old_password": "Wrong-Pass1",
                                        "new_password": "Another-Pass2"})
    assert wrong.status_code == 403
    assert wrong.json()["errors"][0]["message"] == "Current password is incorrect"
    weak = user.client.put(path, json={"old_password": PASSWORD, "new_password": "weak"})
    assert weak.status_code == 400
    same = user.client.put(path, json={"old_password": PASSWORD, "new_password": PASSWORD})
    assert same.status_code == 400
    assert user.client.get("/users/current").status_code == 200  # cached credentials
    ok = user.client.put(path, json={"old_password": PASSWORD, "new_password": "Another-Pass2"})
    assert ok.status_code == 200
    assert user.client.get("/users/current").status_code == 401  # the cache forgot it
    renewed = user.client.as_user(user.username, "Another-Pass2")
    assert renewed.get("/users/current").status_code == 200


def test_admin_resets_a_password_without_the_old_one_others_cannot(admin, new_user):
    user, other = new_user(), new_user()
    assert other.client.put(f"/users/{user.id}/password",
                            json={"new_password": "Reset-Pass3"}).status_code == 403
    assert admin.put(f"/users/{user.id}/password",
                     json={"new_password": "Reset-Pass3"}).status_code == 200
    assert admin.as_user(user.username, "Reset-Pass3").get("/users/current").status_code == 200
    assert admin.put(f"/users/{user.id}/password", json={}).status_code == 400
    assert admin.put("/users/999999/password",
                     json={"new_password": "Reset-Pass3"}).status_code == 404


def test_sysadmin_flag(admin, new_user):
    user, other = new_user(), new_user()
    path = f"/users/{user.id}/sysadmin"
    assert user.client.put(path, json={"sysadmin_flag": True}).status_code == 403
    assert admin.put(path, json={"sysadmin_flag": "yes"}).status_code == 400
    assert user.client.get("/users").status_code == 403
    assert admin.put(path, json={"sysadmin_flag": True}).status_code == 200
    assert user.client.get("/users").status_code == 200  # cached principal was dropped
    assert user.client.get(f"/users/{other.id}").status_code == 200
    assert admin.put(path, json={"sysadmin_flag": False}).status_code == 200
    assert user.client.get("/users").status_code == 403
    admin_id = admin.get("/users/current").json()["user_id"]
    assert admin.put(f"/users/{admin_id}/sysadmin",
                     json={"sysadmin_flag": False}).status_code == 403


def test_delete_users(admin, new_user, new_project):
    user = new_user()
    project = new_project()
    admin.post(f"/projects/{project}/members",
               json={"role_id": 2, "member_user": {"user_id": user.id}})
    assert user.client.delete(f"/users/{user.id}").status_code == 403
    assert admin.delete(f"/users/{user.id}").status_code == 200
    assert admin.get(f"/users/{user.id}").status_code == 404
    assert user.client.get("/users/current").status_code == 401
    members = admin.get(f"/projects/{project}/members").json()
    assert user.username not in [m["entity_name"] for m in members]
    admin_id = admin.get("/users/current").json()["user_id"]
    assert admin.delete(f"/users/{admin_id}").status_code == 403
    assert admin.delete("/users/999999").status_code == 404
    # the name is free again
    create_user(admin, username=user.username)


def test_a_deleted_owner_leaves_the_project_in_place(admin, new_user):
    owner = new_user()
    project = owner_project = f"own{unique('')}"
    assert owner.client.post("/projects", json={"project_name": project}).status_code == 201
    assert admin.delete(f"/users/{owner.id}").status_code == 200
    body = admin.get(f"/projects/{owner_project}").json()
    assert body["owner_id"] == 0 and body["owner_name"] == ""
