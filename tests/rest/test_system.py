"""/health and /systeminfo."""

from __future__ import annotations

import requests


def test_health_lists_healthy_components(admin):
    body = admin.anonymous().get("/health").json()
    assert body["status"] == "healthy"
    assert {c["name"]: c["status"] for c in body["components"]} == {
        "core": "healthy", "database": "healthy", "registry": "healthy", "storage": "healthy"}


def test_systeminfo_for_anonymous_and_for_users(registry, admin):
    anonymous = admin.anonymous().get("/systeminfo").json()
    assert anonymous["auth_mode"] == "db_auth"
    assert anonymous["harbor_version"].startswith("v2.")
    assert "registry_url" not in anonymous and "read_only" not in anonymous
    info = admin.get("/systeminfo").json()
    assert info["external_url"] == registry.url
    assert info["registry_url"] == registry.host
    assert info["project_creation_restriction"] == "everyone"
    assert info["read_only"] is False and info["self_registration"] is False


def test_systeminfo_follows_a_trusted_proxy_as_the_token_realm_does(start_registry):
    server = start_registry({"HT_TRUSTED_PROXIES": "127.0.0.1"})
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "registry.example.org"}
    info = requests.get(f"{server.url}/api/v2.0/systeminfo", headers=forwarded,
                        auth=("admin", server.admin_password), timeout=30).json()
    assert info["external_url"] == "https://registry.example.org"
    assert info["registry_url"] == "registry.example.org"
    challenge = requests.get(f"{server.url}/v2/", headers=forwarded, timeout=30)
    assert 'realm="https://registry.example.org/service/token"' in (
        challenge.headers["WWW-Authenticate"])


def test_getcert_is_404_when_no_ca_is_configured(admin):
    assert admin.get("/systeminfo").json()["has_ca_root"] is False
    missing = admin.anonymous().get("/systeminfo/getcert")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "NOT_FOUND"
