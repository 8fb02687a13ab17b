"""Per-project storage quotas: counted once per digest, enforced on push with DENIED,
released on delete, managed by system administrators only."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.rest.conftest import Client, add_member, create_project, unique
from tests.rest.policy_helpers import (
    image,
    push,
    put_manifest,
    quota_of,
    registry_error,
    set_hard,
    upload,
    used,
)
from tests.rest.test_gc import run_gc
from tests.support.oci import sha256
from tests.support.server import admin_http


def test_project_creation_sets_the_limit_and_the_summary_shows_it(admin: Client):
    name = unique("quota")
    response = admin.post("/projects", json={"project_name": name, "storage_limit": 123456,
                                             "metadata": {"public": "false"}})
    assert response.status_code == 201, response.text
    quota = quota_of(admin, name)
    assert quota["hard"] == {"storage": 123456}
    assert quota["used"] == {"storage": 0}
    assert quota["ref"]["name"] == name and quota["ref"]["owner_name"] == "admin"
    assert admin.get(f"/quotas/{quota['id']}").json() == quota
    summary = admin.get(f"/projects/{name}/summary").json()
    assert summary["quota"] == {"hard": {"storage": 123456}, "used": {"storage": 0}}
    assert quota_of(admin, create_project(admin))["hard"] == {"storage": -1}
    bad = admin.post("/projects", json={"project_name": unique("quota"), "storage_limit": -5})
    assert bad.status_code == 400


def test_usage_counts_a_blob_shared_by_two_repositories_once(registry, admin: Client):
    project = create_project(admin)
    img = image(unique("shared"))
    push(registry.url, f"{project}/one", "v1", img)
    assert used(admin, project) == img.size
    push(registry.url, f"{project}/two", "v1", img)  # same blobs and manifest
    assert used(admin, project) == img.size
    other = image(unique("other"), layers=[img.layers[0], b"x" * 300])
    push(registry.url, f"{project}/two", "v2", other)
    assert used(admin, project) == img.size + len(other.config) + 300 + len(other.manifest)


def test_push_beyond_the_quota_is_refused_and_nothing_is_corrupted(registry, admin: Client):
    project = create_project(admin)
    repo = f"{project}/app"
    first = image(unique("first"))
    push(registry.url, repo, "v1", first)
    set_hard(admin, project, first.size + 100)
    second = image(unique("second"))
    response = upload(registry.url, repo, second.layers[0])
    assert response.status_code == 403
    code, message = registry_error(response)
    assert code == "DENIED" and message.startswith("quota exceeded: ")
    assert f"project {project}" in message
    # The blob is not linked; usage did not move; the first image still pulls whole.
    head = admin_http.head(f"{registry.url}/v2/{repo}/blobs/{sha256(second.layers[0])}")
    assert head.status_code == 404
    assert used(admin, project) == first.size
    pulled = admin_http.get(f"{registry.url}/v2/{repo}/manifests/v1",
                            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert pulled.status_code == 200 and pulled.content == first.manifest
    for blob in [first.config, *first.layers]:
        got = admin_http.get(f"{registry.url}/v2/{repo}/blobs/{sha256(blob)}")
        assert got.status_code == 200 and got.content == blob
    # A small blob still fits: the limit is a ceiling, not a lock.
    assert upload(registry.url, repo, b"tiny").status_code == 201


def test_a_manifest_over_the_quota_is_refused(registry, admin: Client):
    project = create_project(admin)
    repo = f"{project}/app"
    img = image(unique("manifest"))
    for blob in [img.config, *img.layers]:
        assert upload(registry.url, repo, blob).status_code == 201
    set_hard(admin, project, used(admin, project) + len(img.manifest) - 1)
    response = put_manifest(registry.url, repo, "v1", img)
    assert response.status_code == 403
    assert registry_error(response)[0] == "DENIED"
    assert "quota exceeded" in registry_error(response)[1]
    assert admin_http.get(f"{registry.url}/v2/{repo}/manifests/v1").status_code == 404
    set_hard(admin, project, -1)
    assert put_manifest(registry.url, repo, "v1", img).status_code == 201


def test_usage_decreases_after_deletes(registry, admin: Client):
    project = create_project(admin)
    keep, drop = image(unique("keep")), image(unique("drop"))
    push(registry.url, f"{project}/app", "keep", keep)
    push(registry.url, f"{project}/app", "drop", drop)
    assert used(admin, project) == keep.size + drop.size
    response = admin.delete(f"/projects/{project}/repositories/app/artifacts/{drop.digest}")
    assert response.status_code == 200, response.text
    assert used(admin, project) == keep.size
    # The registry's delete by digest releases too; a repository delete releases the rest.
    push(registry.url, f"{project}/other", "x", drop)
    assert used(admin, project) == keep.size + drop.size
    deleted = admin_http.delete(f"{registry.url}/v2/{project}/other/manifests/{drop.digest}")
    assert deleted.status_code == 202
    assert used(admin, project) == keep.size
    assert admin.delete(f"/projects/{project}/repositories/app").status_code == 200
    assert used(admin, project) == 0


def test_only_system_admins_read_and_change_quotas(admin: Client, new_user):
    project = create_project(admin)
    owner = new_user()
    add_member(admin, project, owner, 1)
    quota_id = quota_of(admin, project)["id"]
    assert owner.client.get("/quotas").status_code == 403
    assert owner.client.get(f"/quotas/{quota_id}").status_code == 403
    refused = owner.client.put(f"/quotas/{quota_id}", json={"hard": {"storage": 1}})
    assert refused.status_code == 403
    assert admin.anonymous().get("/quotas").status_code == 401
    assert admin.put(f"/quotas/{quota_id}", json={"hard": {"storage": 0}}).status_code == 400
    assert admin.put(f"/quotas/{quota_id}", json={"hard": {}}).status_code == 400
    assert admin.put("/quotas/999999999", json={"hard": {"storage": 5}}).status_code == 404
    assert admin.put(f"/quotas/{quota_id}", json={"hard": {"storage": 4096}}).status_code == 200
    assert quota_of(admin, project)["hard"] == {"storage": 4096}
    logs = admin.get("/audit-logs", params={"q": "resource_type=quota", "page_size": 100}).json()
    assert any(entry["resource"] == project for entry in logs)


def test_quota_list_sorts_and_pages(admin: Client):
    for _ in range(2):
        create_project(admin)
    response = admin.get("/quotas", params={"sort": "-id", "page_size": 2})
    assert response.status_code == 200
    ids = [q["id"] for q in response.json()]
    assert ids == sorted(ids, reverse=True) and len(ids) == 2
    assert int(response.headers["X-Total-Count"]) >= 2
    assert admin.get("/quotas", params={"sort": "bogus"}).status_code == 400
    assert admin.get("/quotas", params={"reference": "other"}).json() == []


def test_concurrent_pushes_cannot_overshoot_the_limit(registry, admin: Client):
    project = create_project(admin)
    size = 50_000
    set_hard(admin, project, size * 3 + size // 2)
    blobs = [(unique("blob").encode() * size)[:size] for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(
            lambda pair: upload(registry.url, f"{project}/r{pair[0]}", pair[1]).status_code,
            enumerate(blobs)))
    assert sorted(statuses) == [201] * 3 + [403] * 5
    assert used(admin, project) == 3 * size


def test_garbage_collection_of_untagged_manifests_releases_their_bytes(start_registry):
    server = start_registry({"HT_GC_GRACE_MINUTES": "0", "HT_JOB_POLL_SECONDS": "1"})
    admin = Client(server.url, ("admin", server.admin_password))
    project = create_project(admin)
    old, new = image(unique("old")), image(unique("new"))
    push(server.url, f"{project}/app", "latest", old)
    push(server.url, f"{project}/app", "latest", new)  # old is now untagged
    assert used(admin, project) == old.size + new.size
    run_gc(server, delete_untagged=True)
    assert used(admin, project) == new.size
