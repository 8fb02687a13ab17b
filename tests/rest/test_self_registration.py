"""Self-registration: anonymous sign-up only when the setting is on."""

from __future__ import annotations

from tests.rest.conftest import PASSWORD, Client, unique


def test_self_registration_on(start_registry):
    server = start_registry({"HT_SELF_REGISTRATION": "true"})
    anonymous = Client(server.url)
    assert anonymous.get("/systeminfo").json()["self_registration"] is True
    name = unique("self")
    body = {"username": name, "password": PASSWORD, "email": f"{name}@example.com"}
    response = anonymous.post("/users", json=body)
    assert response.status_code == 201, response.text
    me = anonymous.as_user(name, PASSWORD).get("/users/current").json()
    assert me["username"] == name and me["sysadmin_flag"] is False
    assert anonymous.post("/users", json={**body, "password": "weak"}).status_code == 400
    admin = Client(server.url, ("admin", server.admin_password))
    logs = admin.get("/audit-logs", params={"q": f"resource={name}"}).json()
    assert [(e["username"], e["operation"]) for e in logs] == [(name, "create")]


def test_self_registration_off_by_default(admin):
    assert admin.anonymous().get("/systeminfo").json()["self_registration"] is False
    name = unique("self")
    response = admin.anonymous().post(
        "/users", json={"username": name, "password": PASSWORD, "email": f"{name}@example.com"}
    )
    assert response.status_code == 401
