"""The replication page's forms: registry endpoints created, tested, edited (the secret kept
when left empty) and deleted; policies created, edited (direction, filters, trigger) and
deleted; refusals shown as messages — on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.portal.browser_session import PageClient
from tests.rest.conftest import Client, unique

PAGE = "/harbor/admin/replication"


def _shown(pages: PageClient, answer) -> str:
    assert answer.status_code == 303, answer.text
    assert answer.headers["Location"] == PAGE
    return pages.get(PAGE).text


def _registry(admin: Client, name: str) -> dict:
    found = [r for r in admin.get("/registries", params={"name": name}).json()
             if r["name"] == name]
    assert len(found) == 1, found
    return found[0]


def _policy(admin: Client, name: str) -> dict:
    found = [p for p in admin.get("/replication/policies").json() if p["name"] == name]
    assert len(found) == 1, found
    return found[0]


def test_endpoints_and_policies_from_the_forms(registry, admin_pages: PageClient) -> None:
    admin = Client(registry.url, ("admin", registry.admin_password))
    name = unique("endpoint")
    endpoint = {"name": name, "url": registry.url, "type": "harbor", "description": "",
                "access_key": "admin", "access_secret": registry.admin_password}
    page = _shown(admin_pages, admin_pages.submit("/harbor/admin/registries", endpoint, PAGE))
    assert f"Registry endpoint {name} added." in page
    again = _shown(admin_pages, admin_pages.submit("/harbor/admin/registries", endpoint, PAGE))
    assert "flash-error" in again and "already exists" in again
    found = _registry(admin, name)
    tested = admin_pages.submit(f"/harbor/admin/registries/{found['id']}/ping", {}, PAGE)
    assert "answers" in _shown(admin_pages, tested)

    edited = {**endpoint, "description": "the same server", "access_secret": ""}
    saved = admin_pages.submit(f"/harbor/admin/registries/{found['id']}", edited, PAGE)
    assert f"Registry endpoint {name} saved." in _shown(admin_pages, saved)
    assert _registry(admin, name)["description"] == "the same server"
    retested = admin_pages.submit(f"/harbor/admin/registries/{found['id']}/ping", {}, PAGE)
    assert "answers" in _shown(admin_pages, retested)  # the secret was kept

    policy_name = unique("policy")
    policy = {"name": policy_name, "direction": "push", "registry_id": str(found["id"]),
              "name_filter": "library/**", "tag_filter": "v*", "dest_namespace": "mirror",
              "trigger": "manual", "cron": "", "override": "true", "enabled": "true"}
    added = admin_pages.submit("/harbor/admin/replication/policies", policy, PAGE)
    assert f"Policy {policy_name} added." in _shown(admin_pages, added)
    stored = _policy(admin, policy_name)
    assert stored["dest_registry"]["id"] == found["id"] and stored["src_registry"] is None
    assert {(f["type"], f["value"]) for f in stored["filters"]} == {
        ("name", "library/**"), ("tag", "v*")}
    assert stored["dest_namespace"] == "mirror" and stored["enabled"] is True

    bad = admin_pages.submit(f"/harbor/admin/replication/policies/{stored['id']}",
                             {**policy, "trigger": "scheduled", "cron": "nonsense"}, PAGE)
    assert "flash-error" in _shown(admin_pages, bad)
    changed = {**policy, "direction": "pull", "tag_filter": "", "trigger": "scheduled",
               "cron": "0 0 4 * * *", "enabled": ""}
    saved = admin_pages.submit(f"/harbor/admin/replication/policies/{stored['id']}",
                               changed, PAGE)
    assert f"Policy {policy_name} saved." in _shown(admin_pages, saved)
    stored = _policy(admin, policy_name)
    assert stored["src_registry"]["id"] == found["id"] and stored["dest_registry"] is None
    assert [(f["type"], f["value"]) for f in stored["filters"]] == [("name", "library/**")]
    assert stored["trigger"]["type"] == "scheduled" and stored["enabled"] is False

    in_use = admin_pages.submit(f"/harbor/admin/registries/{found['id']}/delete", {}, PAGE)
    assert "used by replication policies" in _shown(admin_pages, in_use)
    confirm = admin_pages.get(f"/harbor/admin/replication/policies/{stored['id']}/delete")
    assert confirm.status_code == 200 and policy_name in confirm.text
    gone = admin_pages.submit(f"/harbor/admin/replication/policies/{stored['id']}/delete",
                              {}, PAGE)
    assert "Policy deleted." in _shown(admin_pages, gone)
    assert admin_pages.get(f"/harbor/admin/registries/{found['id']}/delete").status_code == 200
    removed = admin_pages.submit(f"/harbor/admin/registries/{found['id']}/delete", {}, PAGE)
    assert "Registry endpoint deleted." in _shown(admin_pages, removed)
    assert not [r for r in admin.get("/registries").json() if r["name"] == name]


def test_only_system_admins_may_post_the_forms(registry) -> None:
    from tests.rest.conftest import create_user

    user = create_user(Client(registry.url, ("admin", registry.admin_password)))
    pages = PageClient(registry.url)
    assert pages.sign_in(user.username, user.password).status_code == 303
    token = pages.csrf()
    for path in ("/harbor/admin/registries", "/harbor/admin/replication/policies",
                 "/harbor/admin/registries/1/delete", "/harbor/admin/replication/policies/1"):
        answer = pages.post(path, {"_csrf": token, "name": "x", "url": "http://x",
                                   "type": "harbor", "registry_id": "1"})
        assert answer.status_code == 403, path
