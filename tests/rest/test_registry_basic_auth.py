"""Basic credentials on /v2/ (as Harbor accepts them, for curl and scripts), and the mount
challenge that names the source repository."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import requests
from sqlalchemy import create_engine, select

from harbor_twisted.db.identity_models import audit_log
from tests.rest.conftest import Client, add_member, create_project, create_user, unique
from tests.support.oci import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, descriptor, sha256

GUEST = 3  # Harbor's role ids: pull only


def _v2(registry, method: str, path: str, auth: tuple[str, str] | None = None,
        **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{registry.url}/v2/{path}", auth=auth, timeout=30, **kwargs)


def _push_image(registry, repo: str, auth: tuple[str, str], tag: str = "v1") -> str:
    """Blobs by monolithic POST and a manifest PUT, all with Basic credentials."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "repo": repo}).encode()
    layer = f"layer of {repo}".encode() * 50
    for blob in (config, layer):
        pushed = _v2(registry, "POST", f"{repo}/blobs/uploads/", auth,
                     params={"digest": sha256(blob)}, data=blob)
        assert pushed.status_code == 201, pushed.text
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config), "layers": [descriptor(OCI_LAYER, layer)],
    }).encode()
    put = _v2(registry, "PUT", f"{repo}/manifests/{tag}", auth, data=manifest,
              headers={"Content-Type": OCI_MANIFEST})
    assert put.status_code == 201, put.text
    return sha256(layer)


def _assert_pulls(registry, repo: str, auth: tuple[str, str], layer: str) -> None:
    manifest = _v2(registry, "GET", f"{repo}/manifests/v1", auth,
                   headers={"Accept": OCI_MANIFEST})
    assert manifest.status_code == 200, manifest.text
    assert _v2(registry, "GET", f"{repo}/tags/list", auth).json()["tags"] == ["v1"]
    blob = _v2(registry, "GET", f"{repo}/blobs/{layer}", auth)
    assert blob.status_code == 200 and sha256(blob.content) == layer


def _challenge(response: requests.Response) -> dict[str, str]:
    value = response.headers["WWW-Authenticate"]
    assert value.startswith("Bearer ")
    return dict(re.findall(r'(\w+)="([^"]*)"', value))


def _audit(registry, repo: str) -> set[tuple[str, str, str]]:
    url = registry.database_url or f"sqlite:///{registry.data_dir / 'registry.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(audit_log).where(audit_log.c.resource.startswith(repo)))
            return {(row.operation, row.username, row.resource) for row in rows}
    finally:
        engine.dispose()


def _wait_for_audit(registry, repo: str, wanted: tuple[str, str, str]) -> set:
    deadline = time.monotonic() + 5  # pulls are written in batches, once a second
    while True:
        seen = _audit(registry, repo)
        if wanted in seen or time.monotonic() > deadline:
            return seen
        time.sleep(0.2)


def test_admin_pushes_and_pulls_with_basic_credentials(registry, admin: Client):
    project = create_project(admin)
    repo = f"{project}/basic/r{unique('')}"
    layer = _push_image(registry, repo, admin.auth)
    _assert_pulls(registry, repo, admin.auth, layer)
    catalog = _v2(registry, "GET", "_catalog", admin.auth, params={"n": 10000})
    assert catalog.status_code == 200 and repo in catalog.json()["repositories"]
    assert _v2(registry, "GET", "", admin.auth).status_code == 200
    seen = _wait_for_audit(registry, repo, ("pull", "admin", f"{repo}:v1"))
    assert ("create", "admin", f"{repo}:v1") in seen
    assert ("pull", "admin", f"{repo}:v1") in seen


def test_pull_only_member_pulls_but_cannot_push(registry, admin: Client):
    project = create_project(admin)
    repo = f"{project}/guest"
    layer = _push_image(registry, repo, admin.auth)
    guest = create_user(admin)
    add_member(admin, project, guest, GUEST)
    credentials = (guest.username, guest.password)
    _assert_pulls(registry, repo, credentials, layer)
    pushed = _v2(registry, "POST", f"{repo}/blobs/uploads/", credentials,
                 params={"digest": sha256(b"nope")}, data=b"nope")
    assert pushed.status_code == 401  # as with a token lacking push: the challenge
    assert _challenge(pushed)["error"] == "insufficient_scope"
    put = _v2(registry, "PUT", f"{repo}/manifests/v2", credentials, data=b"{}",
              headers={"Content-Type": OCI_MANIFEST})
    assert put.status_code == 401
    catalog = _v2(registry, "GET", "_catalog", credentials)
    assert catalog.status_code == 401  # the catalog is the system admin's
    seen = _wait_for_audit(registry, repo, ("pull", guest.username, f"{repo}:v1"))
    assert ("pull", guest.username, f"{repo}:v1") in seen


def test_a_robot_pushes_and_pulls_with_its_secret(registry, admin: Client):
    project = create_project(admin)
    name = unique("basic")
    created = admin.post("/robots", json={
        "name": name, "level": "system", "duration": -1, "description": "basic auth",
        "permissions": [{"kind": "project", "namespace": project, "access": [
            {"resource": "repository", "action": "pull"},
            {"resource": "repository", "action": "push"},
        ]}],
    })
    assert created.status_code == 201, created.text
    robot = (created.json()["name"], created.json()["secret"])
    repo = f"{project}/robot"
    layer = _push_image(registry, repo, robot)
    _assert_pulls(registry, repo, robot, layer)
    seen = _wait_for_audit(registry, repo, ("pull", robot[0], f"{repo}:v1"))
    assert ("create", robot[0], f"{repo}:v1") in seen


def test_wrong_or_malformed_basic_credentials_answer_the_challenge(registry, admin: Client):
    project = create_project(admin)
    repo = f"{project}/wrong"
    _push_image(registry, repo, admin.auth)
    for response in (
        _v2(registry, "GET", f"{repo}/manifests/v1", ("admin", "not-the-password")),
        _v2(registry, "GET", f"{repo}/manifests/v1",
            headers={"Authorization": "Basic !!not-base64"}),
        _v2(registry, "POST", f"{repo}/blobs/uploads/", ("admin", "not-the-password"),
            params={"digest": sha256(b"x")}, data=b"x"),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
        challenge = _challenge(response)
        assert challenge["service"] == "harbor-registry"
        assert challenge["realm"].endswith("/service/token")
        assert challenge["scope"].startswith(f"repository:{repo}:")
    anonymous = _v2(registry, "GET", f"{repo}/manifests/v1")
    assert anonymous.status_code == 401
    assert _challenge(anonymous) == {
        "realm": _challenge(anonymous)["realm"], "service": "harbor-registry",
        "scope": f"repository:{repo}:pull",
    }


def test_mount_from_succeeds_with_the_token_its_challenge_asks_for(registry, admin: Client):
    project = create_project(admin)
    source, target = f"{project}/source", f"{project}/target"
    layer = _push_image(registry, source, admin.auth)
    path = f"{target}/blobs/uploads/?mount={layer}&from={source}"
    challenged = _v2(registry, "POST", path)
    assert challenged.status_code == 401
    challenge = _challenge(challenged)
    assert challenge["scope"] == f"repository:{target}:pull,push repository:{source}:pull"
    token = requests.get(challenge["realm"], auth=admin.auth, timeout=30, params={
        "service": challenge["service"], "scope": challenge["scope"].split(" "),
    }).json()["token"]
    mounted = _v2(registry, "POST", path, headers={"Authorization": f"Bearer {token}"})
    assert mounted.status_code == 201, mounted.text
    assert mounted.headers["Docker-Content-Digest"] == layer
    basic = _v2(registry, "POST", f"{project}/basic-target/blobs/uploads/?mount={layer}"
                f"&from={source}", admin.auth)
    assert basic.status_code == 201, basic.text
