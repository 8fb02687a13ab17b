"""Tag immutability rules: managed by Project Admins and Maintainers; a protected tag can be
neither moved by a push nor deleted through the registry or the API."""

from __future__ import annotations

from typing import Any

from tests.rest.conftest import Client, add_member, create_project, unique
from tests.rest.policy_helpers import image, push, put_manifest, registry_error, upload
from tests.support.server import admin_http


def rule(tag_pattern: str = "rel-*", repo_pattern: str = "**", tag_decoration: str = "matches",
         repo_decoration: str = "repoMatches", **extra: Any) -> dict[str, Any]:
    return {
        "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": repo_decoration,
                                            "pattern": repo_pattern}]},
        "tag_selectors": [{"kind": "doublestar", "decoration": tag_decoration,
                           "pattern": tag_pattern}],
        **extra,
    }


def add_rule(client: Client, project: str, body: dict[str, Any]) -> int:
    response = client.post(f"/projects/{project}/immutabletagrules", json=body)
    assert response.status_code == 201, response.text
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_rules_are_managed_by_admins_and_maintainers(admin: Client, new_user):
    project = create_project(admin)
    maintainer, developer = new_user(), new_user()
    add_member(admin, project, maintainer, 4)
    add_member(admin, project, developer, 2)
    rule_id = add_rule(maintainer.client, project, rule())
    listed = maintainer.client.get(f"/projects/{project}/immutabletagrules").json()
    assert [(r["id"], r["disabled"], r["action"], r["template"]) for r in listed] == [
        (rule_id, False, "immutable", "immutable_template")]
    assert listed[0]["tag_selectors"][0]["pattern"] == "rel-*"
    path = f"/projects/{project}/immutabletagrules"
    assert developer.client.post(path, json=rule("x")).status_code == 403
    assert developer.client.delete(f"{path}/{rule_id}").status_code == 403
    assert admin.post(path, json=rule()).status_code == 409  # same selectors
    assert admin.post(path, json=rule(tag_decoration="bogus")).status_code == 400
    assert admin.post(path, json=rule(tag_pattern="{a,b")).status_code == 400
    assert admin.post(path, json={"tag_selectors": []}).status_code == 400
    response = maintainer.client.put(f"{path}/{rule_id}", json={"disabled": True})
    assert response.status_code == 200, response.text
    assert admin.get(path).json()[0]["disabled"] is True
    assert admin.delete(f"{path}/{rule_id}").status_code == 200
    assert admin.delete(f"{path}/{rule_id}").status_code == 404
    assert admin.get(path).json() == []
    logs = admin.get(f"/projects/{project}/logs", params={"page_size": 50}).json()
    operations = {(e["operation"], e["resource_type"]) for e in logs}
    assert {("create", "immutable_rule"), ("update", "immutable_rule"),
            ("delete", "immutable_rule")} <= operations


def test_an_immutable_tag_cannot_be_overwritten_by_a_push(registry, admin: Client):
    project = create_project(admin)
    repo = f"{project}/app"
    first, second = image(unique("first")), image(unique("second"))
    push(registry.url, repo, "rel-1", first)
    push(registry.url, repo, "dev", first)
    rule_id = add_rule(admin, project, rule())
    for blob in [second.config, *second.layers]:
        assert upload(registry.url, repo, blob).status_code == 201
    response = put_manifest(registry.url, repo, "rel-1", second)
    assert response.status_code == 403
    code, message = registry_error(response)
    assert code == "DENIED"
    assert message == f"the tag rel-1 of {repo} is immutable: it cannot be overwritten"
    got = admin_http.get(f"{registry.url}/v2/{repo}/manifests/rel-1")
    assert got.content == first.manifest
    assert put_manifest(registry.url, repo, "rel-1", first).status_code == 201  # no move
    assert put_manifest(registry.url, repo, "rel-2", second).status_code == 201  # new tag
    assert put_manifest(registry.url, repo, "dev", second).status_code == 201  # not matched
    admin.put(f"/projects/{project}/immutabletagrules/{rule_id}", json={"disabled": True})
    assert put_manifest(registry.url, repo, "rel-1", second).status_code == 201


def test_an_immutable_tag_cannot_be_deleted(registry, admin: Client):
    project = create_project(admin)
    repo = f"{project}/app"
    img = image(unique("immutable"))
    push(registry.url, repo, "rel-1", img)
    add_rule(admin, project, rule())
    by_tag = admin_http.delete(f"{registry.url}/v2/{repo}/manifests/rel-1")
    assert by_tag.status_code == 403 and registry_error(by_tag)[0] == "DENIED"
    by_digest = admin_http.delete(f"{registry.url}/v2/{repo}/manifests/{img.digest}")
    assert by_digest.status_code == 403
    assert "immutable" in registry_error(by_digest)[1]
    base = f"/projects/{project}/repositories/app"
    tag_delete = admin.delete(f"{base}/artifacts/{img.digest}/tags/rel-1")
    assert tag_delete.status_code == 412
    assert "immutable" in tag_delete.json()["errors"][0]["message"]
    assert admin.delete(f"{base}/artifacts/{img.digest}").status_code == 412
    assert admin.delete(base).status_code == 412
    assert admin_http.get(f"{registry.url}/v2/{repo}/manifests/rel-1").status_code == 200


def test_excluding_selectors(registry, admin: Client):
    project = create_project(admin)
    img = image(unique("exclude"))
    push(registry.url, f"{project}/keep/me", "v1", img)
    push(registry.url, f"{project}/free", "v1", img)
    push(registry.url, f"{project}/keep/me", "latest", img)
    add_rule(admin, project, rule(tag_pattern="latest", tag_decoration="excludes",
                                  repo_pattern="keep/**"))
    assert admin_http.delete(
        f"{registry.url}/v2/{project}/keep/me/manifests/v1").status_code == 403
    assert admin_http.delete(
        f"{registry.url}/v2/{project}/keep/me/manifests/latest").status_code == 202
    assert admin_http.delete(
        f"{registry.url}/v2/{project}/free/manifests/v1").status_code == 202
