"""The verified-credential cache: a robot's change forgets robots, not every user."""

from __future__ import annotations

from harbor_twisted.core.identity import VerifiedCredentials
from harbor_twisted.core.rbac import Principal


def test_forgetting_robots_keeps_users_verified():
    cache = VerifiedCredentials()
    admin = Principal("user", "admin", user_id=1, sysadmin=True)
    robot = Principal("robot", "robot$ci")
    cache.put("admin", "Secret-1", admin)
    cache.put("robot$ci", "Robot-Secret-1", robot)
    cache.forget_kind("robot")
    assert cache.get("admin", "Secret-1") == admin
    assert cache.get("robot$ci", "Robot-Secret-1") is None
    cache.clear()
    assert cache.get("admin", "Secret-1") is None
