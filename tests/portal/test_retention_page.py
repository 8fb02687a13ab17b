"""The project's Tag retention tab: rules added, edited and deleted through the forms, a
dry run that deletes nothing and a run that does, their logs, and the buttons and POSTs a
Guest does not get — on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time

from tests.portal.browser_session import PageClient
from tests.rest.conftest import Client, add_member, create_project, create_user

GUEST = 3
RULE = {"template": "latestPushedK", "value": "1", "repository_decoration": "repoMatches",
        "repository_pattern": "**", "tag_decoration": "matches", "tag_pattern": "**"}
EXECUTION = re.compile(r'id="retention-execution-(\d+)"')


def _notice(pages: PageClient, answer) -> str:
    assert answer.status_code == 303, answer.text
    return pages.get(answer.headers["Location"]).text


def _finished(pages: PageClient, path: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        page = pages.get(path)
        assert page.status_code == 200, page.text
        status = re.search(r'id="retention-status">([^<]*)<', page.text)
        assert status is not None
        if status.group(1) in ("Succeeded", "Failed", "Stopped"):
            return page.text
        assert time.monotonic() < deadline, page.text
        time.sleep(0.5)


def _tags(admin: Client, project: str) -> set[str]:
    found = admin.get(f"/projects/{project}/repositories/app/artifacts?with_tag=true")
    assert found.status_code == 200, found.text
    return {t["name"] for a in found.json() for t in (a.get("tags") or [])}


def test_rules_runs_and_logs_from_the_retention_tab(registry, admin_pages: PageClient) -> None:
    from tests.support.oci import push_image

    admin = Client(registry.url, ("admin", registry.admin_password))
    project = create_project(admin)
    for number in (1, 2):
        push_image(registry.url, f"{project}/app", tag=f"v{number}", seed=f"ret-{number}")
        time.sleep(0.01)
    tab = f"/harbor/projects/{project}/retention"
    page = admin_pages.get(tab)
    assert page.status_code == 200 and "No rules" in page.text
    assert 'id="retention-dry-run"' not in page.text  # nothing to run before a rule

    assert "Rule added." in _notice(admin_pages, admin_pages.submit(tab + "/rules", RULE, tab))
    second = {**RULE, "template": "nDaysSinceLastPush", "value": "7", "tag_pattern": "v*"}
    assert "Rule added." in _notice(admin_pages, admin_pages.submit(tab + "/rules", second, tab))
    edited = {**second, "template": "always", "tag_pattern": "keep-*"}
    assert "Rule saved." in _notice(admin_pages, admin_pages.submit(tab + "/rules/2", edited, tab))
    policy_id = admin.get(f"/projects/{project}").json()["metadata"]["retention_id"]
    rules = admin.get(f"/retentions/{policy_id}").json()["rules"]
    assert [r["template"] for r in rules] == ["latestPushedK", "always"]
    assert rules[1]["tag_selectors"][0]["pattern"] == "keep-*"

    confirm = admin_pages.get(tab + "/rules/2/delete")
    assert confirm.status_code == 200 and "retain always" in confirm.text
    deleted = admin_pages.submit(tab + "/rules/2/delete", {}, tab)
    assert "Rule deleted." in _notice(admin_pages, deleted)
    assert admin_pages.get(tab + "/rules/5/delete").status_code == 400
    bad = admin_pages.submit(tab + "/schedule", {"cron": "not a cron"}, tab)
    assert "flash-error" in _notice(admin_pages, bad)
    assert "Schedule saved." in _notice(admin_pages, admin_pages.submit(
        tab + "/schedule", {"cron": "0 0 3 * * *"}, tab))

    dry = _notice(admin_pages, admin_pages.submit(tab + "/run", {"dry_run": "true"}, tab))
    assert "Dry run started." in dry
    log = _finished(admin_pages, f"{tab}/executions/{EXECUTION.search(dry).group(1)}")
    assert "Succeeded" in log and "dry run" in log
    assert _tags(admin, project) == {"v1", "v2"}  # a dry run deletes nothing

    real = _notice(admin_pages, admin_pages.submit(tab + "/run", {"dry_run": "false"}, tab))
    newest = max(int(found) for found in EXECUTION.findall(real))
    assert "Succeeded" in _finished(admin_pages, f"{tab}/executions/{newest}")
    assert _tags(admin, project) == {"v2"}  # the most recently pushed one is kept


def test_a_guest_sees_the_rules_but_no_forms_and_gets_403(registry,
                                                        admin_pages: PageClient) -> None:
    admin = Client(registry.url, ("admin", registry.admin_password))
    project = create_project(admin)
    tab = f"/harbor/projects/{project}/retention"
    admin_pages.submit(tab + "/rules", RULE, tab)
    guest = create_user(admin)
    add_member(admin, project, guest, GUEST)
    pages = PageClient(registry.url)
    assert pages.sign_in(guest.username, guest.password).status_code == 303
    page = pages.get(tab)
    if page.status_code == 403:  # Harbor's matrix: a Guest may not read retention at all
        assert f'href="{tab}"' not in pages.get(f"/harbor/projects/{project}").text
    else:
        assert "retain the most recently pushed 1 artifacts" in page.text
        assert 'id="add-retention-rule"' not in page.text
    token = pages.csrf()
    for path in ("/rules", "/rules/1/delete", "/run"):
        answer = pages.post(tab + path, {"_csrf": token, **RULE})
        assert answer.status_code == 403, path
