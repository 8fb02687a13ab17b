"""Tag retention: policies at /retentions, dry runs that delete nothing, real runs through
the job service that delete what no rule keeps (audited, immutable tags kept), and cron."""

from __future__ import annotations

import time
from typing import Any

from tests.rest.conftest import Client, add_member, create_project, unique
from tests.rest.policy_helpers import image, project_id, push
from tests.support.server import admin_http

ANY_REPO = [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]


def policy(ref: int, template: str = "latestPushedK", value: int | None = 2,
           tags: str = "**", repos: str = "**", cron: str = "") -> dict[str, Any]:
    params = {} if value is None else {template: value}
    return {
        "algorithm": "or",
        "scope": {"level": "project", "ref": ref},
        "trigger": {"kind": "Schedule", "settings": {"cron": cron}},
        "rules": [{
            "template": template, "action": "retain", "params": params,
            "scope_selectors": {"repository": [{"kind": "doublestar",
                                                "decoration": "repoMatches",
                                                "pattern": repos}]},
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches",
                               "pattern": tags}],
        }],
    }


def create_policy(client: Client, body: dict[str, Any]) -> int:
    response = client.post("/retentions", json=body)
    assert response.status_code == 201, response.text
    return int(response.headers["Location"].rsplit("/", 1)[1])


def run(admin: Client, policy_id: int, dry_run: bool) -> dict[str, Any]:
    response = admin.post(f"/retentions/{policy_id}/executions", json={"dry_run": dry_run})
    assert response.status_code == 201, response.text
    execution_id = int(response.headers["Location"].rsplit("/", 1)[1])
    return wait(admin, policy_id, execution_id)


def wait(admin: Client, policy_id: int, execution_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        executions = admin.get(f"/retentions/{policy_id}/executions").json()
        found = next(e for e in executions if e["id"] == execution_id)
        if found["status"] in ("Succeed", "Failed", "Stopped"):
            assert found["status"] == "Succeed", found
            return found
        time.sleep(0.2)
    raise AssertionError(f"retention execution {execution_id} did not end")


def log_of(admin: Client, policy_id: int, execution_id: int) -> str:
    base = f"/retentions/{policy_id}/executions/{execution_id}/tasks"
    (task,) = admin.get(base).json()
    response = admin.get(f"{base}/{task['id']}")
    assert response.status_code == 200
    return response.text


def present(registry, repo: str, tag: str) -> bool:
    return admin_http.head(f"{registry.url}/v2/{repo}/manifests/{tag}").status_code == 200


def test_dry_run_reports_and_real_run_deletes_what_no_rule_keeps(registry, admin: Client):
    project = create_project(admin)
    app, other = f"{project}/app", f"{project}/other"
    for tag in ("v1", "v2", "v3", "dev"):
        push(registry.url, app, tag, image(unique(tag)))
    push(registry.url, other, "o1", image(unique("o1")))
    policy_id = create_policy(admin, policy(project_id(admin, project), tags="v*",
                                            repos="app"))
    shown = admin.get(f"/retentions/{policy_id}").json()
    assert shown["scope"] == {"level": "project", "ref": project_id(admin, project)}
    assert shown["rules"][0]["params"] == {"latestPushedK": 2}
    assert admin.get(f"/projects/{project}").json()["metadata"]["retention_id"] == str(
        policy_id)

    dry = run(admin, policy_id, dry_run=True)
    assert dry["dry_run"] is True and dry["trigger"] == "MANUAL"
    text = log_of(admin, policy_id, dry["id"])
    assert "would delete" in text and "v1" in text and "dev" in text
    assert all(present(registry, app, t) for t in ("v1", "v2", "v3", "dev"))
    (task,) = admin.get(f"/retentions/{policy_id}/executions/{dry['id']}/tasks").json()
    assert (task["total"], task["retained"]) == (5, 3)  # other/o1 is counted, untouched

    real = run(admin, policy_id, dry_run=False)
    assert real["dry_run"] is False
    assert [t for t in ("v1", "v2", "v3", "dev") if present(registry, app, t)] == ["v2", "v3"]
    assert present(registry, other, "o1")  # no rule covers the repository
    logs = admin.get(f"/projects/{project}/logs", params={"page_size": 100}).json()
    deleted_by_retention = [e for e in logs if e["username"] == "tag-retention"]
    assert len(deleted_by_retention) == 2
    assert all(e["operation"] == "delete" for e in deleted_by_retention)


def test_immutable_tags_survive_retention(registry, admin: Client):
    project = create_project(admin)
    repo = f"{project}/app"
    for tag in ("old", "mid", "new"):
        push(registry.url, repo, tag, image(unique(tag)))
    response = admin.post(f"/projects/{project}/immutabletagrules", json={
        "scope_selectors": {"repository": ANY_REPO},
        "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "old"}]})
    assert response.status_code == 201
    policy_id = create_policy(admin, policy(project_id(admin, project), value=1))
    execution = run(admin, policy_id, dry_run=False)
    assert "immutable" in log_of(admin, policy_id, execution["id"])
    assert [t for t in ("old", "mid", "new") if present(registry, repo, t)] == ["old", "new"]


def test_policies_follow_the_matrix_and_are_validated(admin: Client, new_user):
    project = create_project(admin)
    ref = project_id(admin, project)
    guest, developer = new_user(), new_user()
    add_member(admin, project, guest, 3)
    add_member(admin, project, developer, 2)
    assert guest.client.post("/retentions", json=policy(ref)).status_code == 403
    policy_id = create_policy(developer.client, policy(ref))
    assert guest.client.get(f"/retentions/{policy_id}").status_code == 403
    assert admin.anonymous().get(f"/retentions/{policy_id}").status_code == 401
    assert admin.post("/retentions", json=policy(ref)).status_code == 409
    assert admin.put(f"/retentions/{policy_id}",
                     json=policy(ref, template="bogus")).status_code == 400
    assert admin.put(f"/retentions/{policy_id}",
                     json=policy(ref, cron="not a cron")).status_code == 400
    object_template = policy(ref)
    object_template["rules"][0]["template"] = {"latestPushedK": 1}  # once a 500
    assert admin.put(f"/retentions/{policy_id}", json=object_template).status_code == 400
    other = project_id(admin, create_project(admin))
    object_template["scope"]["ref"] = other
    assert admin.post("/retentions", json=object_template).status_code == 400
    assert admin.put(f"/retentions/{policy_id}", json=policy(ref, "nDaysSinceLastPull", 7)
                     ).status_code == 200
    assert admin.get(f"/retentions/{policy_id}").json()["rules"][0]["template"] == (
        "nDaysSinceLastPull")
    assert admin.get("/retentions/999999999").status_code == 404
    meta = admin.get("/retentions/metadatas").json()
    assert {t["rule_template"] for t in meta["templates"]} == {
        "latestPushedK", "latestPulledN", "nDaysSinceLastPush", "nDaysSinceLastPull", "always"}
    logs = admin.get(f"/projects/{project}/logs", params={"page_size": 50}).json()
    assert {("create", "retention_policy"), ("update", "retention_policy")} <= {
        (e["operation"], e["resource_type"]) for e in logs}
    assert admin.delete(f"/retentions/{policy_id}").status_code == 200
    assert admin.get(f"/retentions/{policy_id}").status_code == 404


def test_latest_pulled_keeps_what_was_pulled(registry, admin: Client):
    project = create_project(admin)
    repo = f"{project}/app"
    for tag in ("a", "b", "c"):
        push(registry.url, repo, tag, image(unique(tag)))
    assert admin_http.get(f"{registry.url}/v2/{repo}/manifests/b").status_code == 200
    policy_id = create_policy(admin, policy(project_id(admin, project), "latestPulledN", 1))
    deadline = time.monotonic() + 10  # pulls reach the audit log within about a second
    while time.monotonic() < deadline:
        dry = run(admin, policy_id, dry_run=True)
        (task,) = admin.get(f"/retentions/{policy_id}/executions/{dry['id']}/tasks").json()
        if task["retained"] == 1:
            break
        time.sleep(0.5)
    run(admin, policy_id, dry_run=False)
    assert [t for t in ("a", "b", "c") if present(registry, repo, t)] == ["b"]


def test_a_scheduled_policy_runs_from_cron(registry, admin: Client):
    project = create_project(admin)
    repo = f"{project}/app"
    for tag in ("one", "two"):
        push(registry.url, repo, tag, image(unique(tag)))
    policy_id = create_policy(admin, policy(project_id(admin, project), value=1,
                                            cron="* * * * * *"))
    deadline = time.monotonic() + 60
    scheduled = []
    while time.monotonic() < deadline and not scheduled:
        executions = admin.get(f"/retentions/{policy_id}/executions").json()
        scheduled = [e for e in executions if e["trigger"] == "SCHEDULE"
                     and e["status"] == "Succeed"]
        time.sleep(0.5)
    assert scheduled, "no scheduled run"
    body = policy(project_id(admin, project), value=1)
    assert admin.put(f"/retentions/{policy_id}", json=body).status_code == 200  # unschedule
    assert not present(registry, repo, "one") and present(registry, repo, "two")
