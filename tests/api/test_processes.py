"""Process kinds and logging: the registry alone verifies tokens a core issued."""

from __future__ import annotations

import json
import os

import requests

from tests.support.oci import push_image, sha256


def test_registry_alone_accepts_tokens_from_the_all_in_one_token_service(start_registry):
    core = start_registry()
    registry = start_registry({"HT_TOKEN_REALM": f"{core.url}/service/token"},
                              command="registry")
    challenge = requests.get(f"{registry.url}/v2/", timeout=10).headers["WWW-Authenticate"]
    assert f'realm="{core.url}/service/token"' in challenge
    assert requests.get(f"{registry.url}/service/token", timeout=10).status_code == 404
    scope = "repository:library/split:pull,push"
    token = requests.get(f"{core.url}/service/token",
                         params={"service": "harbor-registry", "scope": scope},
                         auth=("admin", core.admin_password), timeout=30).json()["token"]
    data = os.urandom(1000)
    pushed = requests.post(f"{registry.url}/v2/library/split/blobs/uploads/",
                           params={"digest": sha256(data)}, data=data,
                           headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert pushed.status_code == 201
    anonymous = requests.post(f"{registry.url}/v2/library/split/blobs/uploads/", timeout=10)
    assert anonymous.status_code == 401


def test_json_log_format_writes_one_json_object_per_line(start_registry):
    server = start_registry({"HT_LOG_FORMAT": "json"})
    lines = [line for line in server.log_text().splitlines() if line.strip()]
    assert lines
    records = [json.loads(line) for line in lines]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any(record["message"].startswith("registry listening on 127.0.0.1:")
               for record in records)


def test_manifest_size_limit_is_configurable(start_registry):
    server = start_registry({"HT_MANIFEST_MAX_BYTES": "2048"})
    body = b'{"schemaVersion": 2, "padding": "' + b"x" * 3000 + b'"}'
    response = server.session.put(
        f"{server.url}/v2/library/limits/manifests/big", data=body,
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, timeout=10)
    assert response.status_code == 413
    assert response.json()["errors"][0]["detail"] == {"limit": 2048}


def test_read_only_mode_refuses_writes_clearly_and_keeps_pulls(start_registry, tmp_path):
    data_dir = tmp_path / "ro"
    writable = start_registry(data_dir=data_dir)
    image = push_image(writable.url, "library/readonly")
    writable.stop()
    server = start_registry({"HT_READ_ONLY": "true"}, data_dir=data_dir)
    pulled = server.session.get(f"{server.url}/v2/library/readonly/manifests/latest",
                                timeout=10)
    assert pulled.status_code == 200
    assert pulled.content == image.manifest
    for method, path in (("POST", "/v2/library/readonly/blobs/uploads/"),
                         ("DELETE", f"/v2/library/readonly/manifests/{image.digest}")):
        refused = server.session.request(method, server.url + path, timeout=10)
        assert refused.status_code == 403
        error = refused.json()["errors"][0]
        assert error["code"] == "DENIED"
        assert "read-only" in error["message"]
