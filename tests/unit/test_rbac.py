import pytest

from harbor_twisted.core.rbac import (
    ANONYMOUS,
    Principal,
    RobotGrant,
    Role,
    allowed,
    registry_actions,
)

USER = Principal("user", "alice", 7)
ADMIN = Principal("user", "admin", 1, sysadmin=True)

# Harbor's matrix (harbor-reference.md): role -> (pull, push, delete, manage members, log)
EXPECTED = {
    Role.PROJECT_ADMIN: (True, True, True, True, True),
    Role.MAINTAINER: (True, True, True, False, False),
    Role.DEVELOPER: (True, True, False, False, False),
    Role.GUEST: (True, False, False, False, False),
    Role.LIMITED_GUEST: (True, False, False, False, False),
}


def _can(principal, resource, action, roles=(), public=False, read_only=False):
    return allowed(principal, resource, action, project_name="p", project_public=public,
                   roles=roles, read_only=read_only)


@pytest.mark.parametrize("role", list(Role))
def test_role_matrix(role):
    pull, push, delete, members, log = EXPECTED[role]
    assert _can(USER, "repository", "pull", [role]) is pull
    assert _can(USER, "repository", "push", [role]) is push
    assert _can(USER, "repository", "delete", [role]) is delete
    assert _can(USER, "member", "create", [role]) is members
    assert _can(USER, "log", "list", [role]) is log
    assert _can(USER, "member", "list", [role]) is (role != Role.LIMITED_GUEST)


def test_no_role_no_access_to_private_projects():
    assert not _can(USER, "repository", "pull")
    assert not _can(ANONYMOUS, "repository", "pull")


def test_public_projects_are_readable_by_anyone_but_not_writable():
    assert _can(ANONYMOUS, "repository", "pull", public=True)
    assert _can(USER, "artifact", "list", public=True)
    assert not _can(ANONYMOUS, "repository", "push", public=True)
    assert not _can(USER, "repository", "delete", public=True)


def test_system_admin_may_do_anything_but_write_in_read_only_mode():
    assert _can(ADMIN, "repository", "delete")
    assert _can(ADMIN, "member", "create")
    assert not _can(ADMIN, "repository", "push", read_only=True)
    assert _can(ADMIN, "repository", "pull", read_only=True)


def test_best_role_wins_when_held_directly_and_through_groups():
    assert _can(USER, "repository", "push", [Role.GUEST, Role.DEVELOPER])


def test_robot_grants_are_scoped_to_their_namespace():
    robot = Principal("robot", "robot$ci", robot_grants=(
        RobotGrant("p", "repository", "pull"), RobotGrant("p", "repository", "push")))
    assert _can(robot, "repository", "push")
    assert not _can(robot, "repository", "delete")
    assert not allowed(robot, "repository", "pull", project_name="other", project_public=False,
                       roles=())
    everywhere = Principal("robot", "robot$sys", robot_grants=(
        RobotGrant("*", "repository", "pull"),))
    assert allowed(everywhere, "repository", "pull", project_name="any", project_public=False,
                   roles=())


def test_registry_actions_are_the_intersection_of_asked_and_allowed():
    assert registry_actions(USER, ["pull", "push"], project_name="p", project_public=False,
                            roles=[Role.GUEST], read_only=False) == ["pull"]
    assert registry_actions(USER, ["*"], project_name="p", project_public=False,
                            roles=[Role.MAINTAINER], read_only=False) == ["pull", "push", "delete"]
    assert registry_actions(USER, ["push"], project_name="p", project_public=False,
                            roles=[], read_only=False) == []
