"""Listing edges that the scale work touches: every page of a list read one by one equals
the whole list (the second half is read in reverse order), a page past the end is empty
with the right total, filters page the same way, and pull counts and times are kept as the
registry records pulls."""

from __future__ import annotations

import pytest

from tests.rest.artifact_helpers import eventually, ok, pull, push_index, repo_path
from tests.rest.conftest import add_member, create_project
from tests.support.oci import push_image

NEVER = "0001-01-01T00:00:00.000Z"


@pytest.fixture(scope="module")
def filled(registry, admin):
    """A project with 3 repositories; ``app`` holds 7 tagged images and one index whose
    two children stay hidden: 8 artifacts listed."""
    project = create_project(admin)
    for i in range(7):
        push_image(registry.url, f"{project}/app", tag=f"v{i}", seed=f"img-{i}")
    push_index(registry.url, f"{project}/app", tag="multi")
    for name in ("one", "two"):
        push_image(registry.url, f"{project}/{name}", tag="latest", seed=name)
    return project


def _ids(response) -> list[int]:
    return [item["id"] for item in ok(response)]


def _pages(admin, path: str, size: int, **params) -> tuple[list[int], list[str]]:
    """Every page's ids in turn (until an empty page), and the totals each page reported."""
    ids: list[int] = []
    totals: list[str] = []
    page = 1
    while True:
        response = admin.get(path, params={**params, "page": page, "page_size": size})
        totals.append(response.headers["X-Total-Count"])
        found = _ids(response)
        if not found:
            return ids, totals
        ids += found
        page += 1


@pytest.mark.parametrize("sort", [None, "push_time", "-push_time", "size", "-size,id"])
@pytest.mark.parametrize("size", [1, 3, 5])
def test_artifact_pages_in_turn_equal_the_whole_list(registry, admin, filled, sort, size):
    path = f"{repo_path(filled, 'app')}/artifacts"
    params = {"sort": sort} if sort else {}
    whole = _ids(admin.get(path, params={**params, "page_size": 100}))
    assert len(whole) == 8
    paged, totals = _pages(admin, path, size, **params)
    assert paged == whole
    assert set(totals) == {"8"}


def test_the_last_page_is_short_and_the_next_is_empty(registry, admin, filled):
    path = f"{repo_path(filled, 'app')}/artifacts"
    whole = _ids(admin.get(path, params={"page_size": 100}))
    last = admin.get(path, params={"page": 3, "page_size": 3})
    assert _ids(last) == whole[6:]
    assert last.headers["X-Total-Count"] == "8"
    assert 'rel="next"' not in last.headers.get("Link", "")
    beyond = admin.get(path, params={"page": 4, "page_size": 3})
    assert ok(beyond) == [] and beyond.headers["X-Total-Count"] == "8"
    far = admin.get(path, params={"page": 1000, "page_size": 100})
    assert ok(far) == [] and far.headers["X-Total-Count"] == "8"


def test_tag_filters_page_like_the_rest(registry, admin, filled):
    path = f"{repo_path(filled, 'app')}/artifacts"
    exact = admin.get(path, params={"q": "tags=v3"})
    (art,) = ok(exact)
    assert [t["name"] for t in art["tags"]] == ["v3"] and exact.headers["X-Total-Count"] == "1"
    fuzzy = _ids(admin.get(path, params={"q": "tags=~v", "page_size": 100}))
    assert len(fuzzy) == 7
    paged, totals = _pages(admin, path, 2, q="tags=~v")
    assert paged == fuzzy and set(totals) == {"7"}
    untagged = admin.get(path, params={"q": "tags=nil"})
    assert ok(untagged) == [] and untagged.headers["X-Total-Count"] == "0"  # children hidden
    assert ok(admin.get(path, params={"q": "tags=missing"})) == []


def test_repository_pages_and_name_filters(registry, admin, filled):
    path = f"/projects/{filled}/repositories"
    whole = [r["name"] for r in ok(admin.get(path, params={"page_size": 100}))]
    assert sorted(whole) == [f"{filled}/app", f"{filled}/one", f"{filled}/two"]
    for sort in (None, "name", "-name", "update_time"):
        params = {"sort": sort} if sort else {}
        expected = _ids(admin.get(path, params={**params, "page_size": 100}))
        paged, totals = _pages(admin, path, 2, **params)
        assert paged == expected and set(totals) == {"3"}
    named = admin.get(path, params={"q": "name=~tw"})
    assert [r["name"] for r in ok(named)] == [f"{filled}/two"]
    assert named.headers["X-Total-Count"] == "1"
    counts = {r["name"]: r["artifact_count"] for r in ok(admin.get(path))}
    assert counts[f"{filled}/app"] == 8 and counts[f"{filled}/one"] == 1
    beyond = admin.get(path, params={"page": 3, "page_size": 2})
    assert ok(beyond) == [] and beyond.headers["X-Total-Count"] == "3"


def test_audit_log_pages_in_turn_equal_the_whole_list(registry, admin, filled):
    path = f"/projects/{filled}/logs"
    whole = _ids(admin.get(path, params={"page_size": 100}))
    assert len(whole) >= 10  # the pushes
    paged, totals = _pages(admin, path, 4)
    assert paged == whole and set(totals) == {str(len(whole))}


def test_pulls_update_counts_and_times_in_every_answer(registry, admin):
    project = create_project(admin)
    full = f"{project}/counted"
    image = push_image(registry.url, full, tag="v1", seed="counted")
    push_image(registry.url, full, tag="v2", seed="counted")  # the same manifest, two tags
    repo = repo_path(project, "counted")
    assert ok(admin.get(repo))["pull_count"] == 0
    pull(registry.url, full, "v1")
    pull(registry.url, full, "v1")
    pull(registry.url, full, image.digest)

    def counted(payload: dict) -> bool:
        return payload["pull_count"] == 3

    assert eventually(lambda: counted(ok(admin.get(repo)))), "pull_count never reached 3"
    listed = ok(admin.get(f"/projects/{project}/repositories"))
    assert [r["pull_count"] for r in listed] == [3]
    found = ok(admin.get("/search", params={"q": "counted"}))["repository"]
    assert [r["pull_count"] for r in found if r["repository_name"] == full] == [3]

    (art,) = ok(admin.get(f"{repo}/artifacts"))
    tags = {t["name"]: t["pull_time"] for t in art["tags"]}
    assert tags["v1"] != NEVER and tags["v2"] == NEVER  # only v1 was pulled by tag
    assert art["pull_time"] >= tags["v1"]  # the digest pull came last
    tag_list = {t["name"]: t["pull_time"]
                for t in ok(admin.get(f"{repo}/artifacts/{image.digest}/tags"))}
    assert tag_list == tags

    pull(registry.url, full, "v2")
    assert eventually(lambda: counted_to(admin, repo, 4)), "a later pull was not counted"
    (again,) = ok(admin.get(f"{repo}/artifacts"))
    later = {t["name"]: t["pull_time"] for t in again["tags"]}
    assert later["v2"] != NEVER and later["v1"] == tags["v1"]
    assert again["pull_time"] >= later["v2"]


def counted_to(admin, repo: str, count: int) -> bool:
    return ok(admin.get(repo))["pull_count"] == count


EVERY_TIME = "op_time=[2000-01-01 00:00:00~2100-01-01 00:00:00]"  # a filter: counted rows


def _total(admin, path: str, **params) -> int:
    response = admin.get(path, params={**params, "page_size": 1})
    assert response.status_code == 200, response.text
    return int(response.headers["X-Total-Count"])


def test_audit_totals_kept_per_project_match_a_count(registry, admin, new_user):
    """Unfiltered totals come from counts kept with every audit write; a filter that
    matches everything counts the rows instead: both agree, for the admin, for a member
    (the projects they may see) and before and after a delete."""
    project = create_project(admin)
    push_image(registry.url, f"{project}/audited", tag="v1", seed="audited")
    logs = f"/projects/{project}/logs"
    assert _total(admin, logs) == _total(admin, logs, q=EVERY_TIME) >= 1
    assert _total(admin, "/audit-logs") == _total(admin, "/audit-logs", q=EVERY_TIME)
    member = new_user()
    add_member(admin, project, member, 1)  # project admin: may read the project's log
    mine = _total(member.client, "/audit-logs")
    assert mine == _total(member.client, "/audit-logs", q=EVERY_TIME) >= 2  # push, member
    ok(admin.delete(f"{repo_path(project, 'audited')}"))
    ok(admin.delete(f"/projects/{project}"))
    assert _total(admin, "/audit-logs") == _total(admin, "/audit-logs", q=EVERY_TIME)
    beyond = admin.get("/audit-logs", params={"page": 10**6, "page_size": 100})
    assert ok(beyond) == []
