"""Artifacts and tags through the REST API: shapes, filters, paging, indexes, deletes,
permissions by role and the audit trail."""

from __future__ import annotations

import pytest

from tests.rest.artifact_helpers import (
    audit,
    eventually,
    ok,
    pull,
    push_index,
    repo_path,
)
from tests.rest.conftest import add_member, create_project, error_code, unique
from tests.support.oci import OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, push_image
from tests.support.server import admin_http

NEVER = "0001-01-01T00:00:00.000Z"


@pytest.fixture
def project(admin):
    return create_project(admin)


def _artifacts(client, project, repo, **params):
    return client.get(f"{repo_path(project, repo)}/artifacts", params=params)


def test_list_and_get_an_image(registry, admin, project):
    full = f"{project}/app"
    image = push_image(registry.url, full, tag="v1", seed="s")
    push_image(registry.url, full, tag="stable", seed="s")  # same manifest, second tag
    response = _artifacts(admin, project, "app")
    listed = ok(response)
    assert response.headers["X-Total-Count"] == "1"
    (art,) = listed
    assert art["digest"] == image.digest
    assert art["type"] == "IMAGE"
    assert art["media_type"] == OCI_CONFIG
    assert art["manifest_media_type"] == OCI_MANIFEST
    assert art["size"] == len(image.manifest) + len(image.config) + sum(map(len, image.layers))
    assert art["pull_time"] == NEVER and art["push_time"].endswith("Z")
    assert art["references"] is None
    assert sorted(t["name"] for t in art["tags"]) == ["stable", "v1"]
    assert {t["artifact_id"] for t in art["tags"]} == {art["id"]}
    assert all(t["immutable"] is False for t in art["tags"])

    by_tag = ok(admin.get(f"{repo_path(project, 'app')}/artifacts/v1"))
    by_digest = ok(admin.get(f"{repo_path(project, 'app')}/artifacts/{image.digest}"))
    assert by_tag["id"] == by_digest["id"] == art["id"]
    assert by_tag["extra_attrs"]["architecture"] == "amd64"
    assert by_tag["extra_attrs"]["os"] == "linux"
    without_tags = ok(admin.get(f"{repo_path(project, 'app')}/artifacts/v1",
                                params={"with_tag": "false", "with_label": "true",
                                        "with_scan_overview": "true"}))
    assert "tags" not in without_tags and without_tags["labels"] is None

    missing = admin.get(f"{repo_path(project, 'app')}/artifacts/nope")
    assert missing.status_code == 404 and error_code(missing) == "NOT_FOUND"
    bad_digest = admin.get(f"{repo_path(project, 'app')}/artifacts/sha256:zz")
    assert bad_digest.status_code == 404
    assert admin.get(f"{repo_path(project, 'none')}/artifacts").status_code == 404


def test_tagged_and_untagged_totals_count_each_listed_artifact_once(registry, admin, project):
    """tags=* and tags=nil are counted from the repository's tags (distinct artifacts) less
    the hidden ones: an artifact with two tags counts once, and a child of an index stays
    hidden whether it carries a tag or not."""
    full = f"{project}/states"
    twice = push_image(registry.url, full, tag="one", seed="twice")
    put = admin_http.put(f"{registry.url}/v2/{full}/manifests/two", data=twice.manifest,
                         headers={"Content-Type": OCI_MANIFEST}, timeout=30)
    assert put.status_code == 201, put.text
    index = push_index(registry.url, full, tag="multi")
    tagged_child = index.children[0]
    put = admin_http.put(f"{registry.url}/v2/{full}/manifests/child", data=tagged_child.manifest,
                         headers={"Content-Type": OCI_MANIFEST}, timeout=30)
    assert put.status_code == 201, put.text
    untagged = push_image(registry.url, full, tag=None, seed="bare")

    def listed(state: str) -> tuple[set[str], str]:
        response = _artifacts(admin, project, "states", q=f"tags={state}", page_size=1)
        everything = ok(_artifacts(admin, project, "states", q=f"tags={state}", page_size=50))
        return {a["digest"] for a in everything}, response.headers["X-Total-Count"]

    assert listed("*") == ({twice.digest, index.digest}, "2")
    assert listed("nil") == ({untagged.digest}, "1")


def test_filters_sorting_and_paging(registry, admin, project):
    full = f"{project}/filters"
    old = push_image(registry.url, full, tag="v1.0", seed="a")
    new = push_image(registry.url, full, tag="v2.0", seed="b")
    untagged = push_image(registry.url, full, tag=None, seed="c")

    def digests(**params):
        return [a["digest"] for a in ok(_artifacts(admin, project, "filters", **params))]

    assert digests() == [untagged.digest, new.digest, old.digest]  # newest push first
    assert digests(sort="push_time") == [old.digest, new.digest, untagged.digest]
    assert digests(q="tags=v1.0") == [old.digest]
    assert digests(q="tags=~2.") == [new.digest]
    assert set(digests(q="tags=*")) == {old.digest, new.digest}
    assert digests(q="tags=nil") == [untagged.digest]
    assert digests(q=f"digest={new.digest}") == [new.digest]
    assert len(digests(q=f"media_type={OCI_CONFIG}")) == 3
    assert digests(q="media_type=application/x-other") == []

    first = _artifacts(admin, project, "filters", page_size=1)
    assert first.headers["X-Total-Count"] == "3"
    assert 'rel="next"' in first.headers["Link"] and "page=2" in first.headers["Link"]
    last = _artifacts(admin, project, "filters", page_size=2, page=2)
    assert [a["digest"] for a in last.json()] == [old.digest]
    assert 'rel="prev"' in last.headers["Link"]
    assert _artifacts(admin, project, "filters", q="colour=red").status_code == 400
    assert _artifacts(admin, project, "filters", sort="colour").status_code == 400


def test_an_index_hides_its_children_and_deletes_them_with_it(registry, admin, project):
    full = f"{project}/multi"
    index = push_index(registry.url, full)
    listed = ok(_artifacts(admin, project, "multi"))
    assert [a["digest"] for a in listed] == [index.digest]
    art = listed[0]
    assert art["type"] == "IMAGE" and art["media_type"] == OCI_INDEX
    children = {c.digest for c in index.children}
    assert {r["child_digest"] for r in art["references"]} == children
    assert {r["platform"]["architecture"] for r in art["references"]} == {"amd64", "arm64"}
    assert all(r["parent_id"] == art["id"] and r["child_id"] > 0 for r in art["references"])
    child_sizes = sum(len(c.manifest) + len(c.config) + sum(map(len, c.layers))
                      for c in index.children)
    assert art["size"] == len(index.manifest) + child_sizes
    repository = ok(admin.get(repo_path(project, "multi")))
    assert repository["artifact_count"] == 1

    child = index.children[0].digest
    assert ok(admin.get(f"{repo_path(project, 'multi')}/artifacts/{child}"))["digest"] == child
    refused = admin.delete(f"{repo_path(project, 'multi')}/artifacts/{child}")
    assert refused.status_code == 412, refused.text
    assert "referenced by others" in refused.json()["errors"][0]["message"]

    ok(admin.delete(f"{repo_path(project, 'multi')}/artifacts/multi"))
    for digest in [index.digest, *children]:
        gone = admin.get(f"{repo_path(project, 'multi')}/artifacts/{digest}")
        assert gone.status_code == 404
        fetched = admin_http.get(f"{registry.url}/v2/{full}/manifests/{digest}", timeout=30)
        assert fetched.status_code == 404
    assert ("delete", "artifact", f"{full}@{index.digest}") in audit(admin, full)


def test_a_tagged_child_survives_its_index(registry, admin, project):
    full = f"{project}/keep"
    index = push_index(registry.url, full)
    kept = index.children[0]
    ok(admin.post(f"{repo_path(project, 'keep')}/artifacts/{kept.digest}/tags",
                  json={"name": "kept"}), 201)
    ok(admin.delete(f"{repo_path(project, 'keep')}/artifacts/{index.digest}"))
    remaining = ok(_artifacts(admin, project, "keep"))
    assert [a["digest"] for a in remaining] == [kept.digest]


def test_tags_create_list_delete(registry, admin, project):
    full = f"{project}/tagged"
    one = push_image(registry.url, full, tag="one", seed="1")
    push_image(registry.url, full, tag="two", seed="2")
    tags_url = f"{repo_path(project, 'tagged')}/artifacts/{one.digest}/tags"

    ok(admin.post(tags_url, json={"name": "release"}), 201)
    fetched = admin_http.get(f"{registry.url}/v2/{full}/manifests/release", timeout=30)
    assert fetched.status_code == 200 and fetched.headers["Docker-Content-Digest"] == one.digest
    again = admin.post(tags_url, json={"name": "release"})
    assert again.status_code == 409 and error_code(again) == "CONFLICT"
    taken = admin.post(tags_url, json={"name": "two"})
    assert taken.status_code == 409
    assert admin.post(tags_url, json={"name": "bad tag!"}).status_code == 400
    assert admin.post(tags_url, json={}).status_code == 400

    response = admin.get(tags_url, params={"page_size": 1})
    assert response.headers["X-Total-Count"] == "2"
    assert [t["name"] for t in response.json()] == ["one"]
    names = [t["name"] for t in ok(admin.get(tags_url, params={"q": "name=~rel"}))]
    assert names == ["release"]

    wrong = admin.delete(f"{tags_url}/two")  # "two" is on the other artifact
    assert wrong.status_code == 404
    ok(admin.delete(f"{tags_url}/release"))
    assert admin_http.get(f"{registry.url}/v2/{full}/manifests/release",
                          timeout=30).status_code == 404
    assert ok(admin.get(f"{repo_path(project, 'tagged')}/artifacts/{one.digest}"))["id"]
    entries = [e for e in audit(admin, f"{full}:release") if e[0] != "pull"]
    assert entries == [("delete", "tag", f"{full}:release"),
                           ("create", "tag", f"{full}:release")]


def test_names_with_slashes_are_encoded_twice(registry, admin, project):
    full = f"{project}/team/sub/app"
    image = push_image(registry.url, full, tag="latest")
    listed = ok(_artifacts(admin, project, "team/sub/app"))
    assert [a["digest"] for a in listed] == [image.digest]
    assert listed[0]["repository_name"] == full
    once = admin.get(f"/projects/{project}/repositories/team%2Fsub%2Fapp/artifacts")
    assert once.status_code == 200  # a single encoding decodes to the same name
    ok(admin.delete(f"{repo_path(project, 'team/sub/app')}/artifacts/latest"))
    assert ok(_artifacts(admin, project, "team/sub/app")) == []


def test_pull_times_come_from_the_registry(registry, admin, project):
    full = f"{project}/pulled"
    image = push_image(registry.url, full, tag="latest")
    pull(registry.url, full, "latest")
    path = f"{repo_path(project, 'pulled')}/artifacts/latest"
    art = eventually(lambda: (a := ok(admin.get(path)))["pull_time"] != NEVER and a)
    assert art, "the pull never showed"
    assert art["tags"][0]["pull_time"] != NEVER
    pull(registry.url, full, image.digest)
    assert eventually(lambda: ok(admin.get(repo_path(project, "pulled")))["pull_count"] == 2)


ROLES = {"admin": 1, "developer": 2, "guest": 3, "maintainer": 4, "limited": 5}


@pytest.mark.parametrize(
    ("role", "read", "tag_create", "tag_delete", "artifact_delete"),
    [
        ("admin", 200, 201, 200, 200),
        ("maintainer", 200, 201, 200, 200),
        ("developer", 200, 201, 403, 403),
        ("guest", 200, 403, 403, 403),
        ("limited", 200, 403, 403, 403),
        (None, 403, 403, 403, 403),
    ],
)
def test_permissions_follow_the_matrix(registry, admin, new_user, project, role, read,
                                       tag_create, tag_delete, artifact_delete):
    full = f"{project}/perm"
    image = push_image(registry.url, full, tag="base", seed=unique("p"))
    ok(admin.post(f"{repo_path(project, 'perm')}/artifacts/base/tags", json={"name": "x"}),
       201)
    user = new_user()
    if role is not None:
        add_member(admin, project, user, ROLES[role])
    client = user.client
    art = f"{repo_path(project, 'perm')}/artifacts/{image.digest}"
    assert _artifacts(client, project, "perm").status_code == read
    assert client.get(art).status_code == read
    assert client.get(f"{art}/tags").status_code == read
    assert client.post(f"{art}/tags", json={"name": "mine"}).status_code == tag_create
    assert client.delete(f"{art}/tags/x").status_code == tag_delete
    assert client.delete(art).status_code == artifact_delete
    if artifact_delete == 403:
        assert admin.get(art).status_code == 200


def test_anonymous_reads_public_projects_only(registry, admin):
    public = create_project(admin, public=True)
    private = create_project(admin)
    for name in (public, private):
        push_image(registry.url, f"{name}/app", tag="latest")
    anonymous = admin.anonymous()
    assert _artifacts(anonymous, public, "app").status_code == 200
    assert anonymous.get(f"{repo_path(public, 'app')}/artifacts/latest").status_code == 200
    refused = anonymous.delete(f"{repo_path(public, 'app')}/artifacts/latest")
    assert refused.status_code == 401
    assert anonymous.post(f"{repo_path(public, 'app')}/artifacts/latest/tags",
                          json={"name": "anon"}).status_code == 401
    assert _artifacts(anonymous, private, "app").status_code == 401
    assert _artifacts(anonymous, unique("nosuch"), "app").status_code == 401
    assert _artifacts(admin, unique("nosuch"), "app").status_code == 404


def test_registry_and_api_deletes_are_audited_alike(registry, admin, project):
    full = f"{project}/both"
    first = push_image(registry.url, full, tag="a", seed="a")
    second = push_image(registry.url, full, tag="b", seed="b")
    response = admin_http.delete(f"{registry.url}/v2/{full}/manifests/{first.digest}",
                                 timeout=30)
    assert response.status_code == 202
    ok(admin.delete(f"{repo_path(project, 'both')}/artifacts/{second.digest}"))
    deletes = [e for e in audit(admin, full) if e[0] == "delete"]
    assert deletes == [("delete", "artifact", f"{full}@{second.digest}"),
                       ("delete", "artifact", f"{full}@{first.digest}")]
    logs = ok(admin.get(f"/projects/{project}/logs", params={"q": "operation=delete"}))
    assert {e["resource"] for e in logs} >= {f"{full}@{first.digest}", f"{full}@{second.digest}"}
