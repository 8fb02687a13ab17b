"""/health and /systeminfo."""

from __future__ import annotations


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
