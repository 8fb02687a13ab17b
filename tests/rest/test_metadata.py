"""/projects/{p}/metadatas: one key at a time, Project Admins only for changes."""

from __future__ import annotations

from tests.rest.conftest import add_member


def test_metadata_round_trip(admin, new_project):
    project = new_project()
    base = f"/projects/{project}/metadatas"
    assert admin.get(base).json() == {"public": "false"}
    assert admin.get(f"{base}/").json() == {"public": "false"}
    assert admin.post(base, json={"auto_scan": "true"}).status_code == 200
    assert admin.post(base, json={"auto_scan": "false"}).status_code == 409
    assert admin.post(base, json={"public": "true"}).status_code == 409
    assert admin.get(f"{base}/auto_scan").json() == {"auto_scan": "true"}
    assert admin.put(f"{base}/severity", json={"severity": "CRITICAL"}).status_code == 200
    assert admin.get(f"{base}/severity").json() == {"severity": "critical"}
    assert admin.put(f"{base}/public", json={"public": "true"}).status_code == 200
    assert admin.get(base).json() == {"public": "true", "auto_scan": "true",
                                      "severity": "critical"}
    assert admin.delete(f"{base}/auto_scan").status_code == 200
    assert admin.get(f"{base}/auto_scan").status_code == 404
    assert admin.delete(f"{base}/auto_scan").status_code == 404


def test_metadata_validation(admin, new_project):
    project = new_project()
    base = f"/projects/{project}/metadatas"
    for body in ({}, {"a": "true", "b": "false"}, {"unknown": "true"}, {"auto_scan": "maybe"},
                 {"severity": "extreme"}, {"auto_scan": True}):
        assert admin.post(base, json=body).status_code == 400, body
    assert admin.put(f"{base}/auto_scan", json={"other": "true"}).status_code == 400
    assert admin.put(f"{base}/nonsense", json={"nonsense": "true"}).status_code == 400
    assert admin.delete(f"{base}/public").status_code == 400


def test_metadata_permissions(admin, new_user, new_project):
    project = new_project()
    base = f"/projects/{project}/metadatas"
    maintainer, stranger = new_user(), new_user()
    add_member(admin, project, maintainer, 4)
    assert maintainer.client.get(base).status_code == 200
    assert maintainer.client.put(f"{base}/auto_scan", json={"auto_scan": "true"}) \
        .status_code == 403
    assert stranger.client.get(base).status_code == 403
    assert admin.anonymous().get(base).status_code == 401
