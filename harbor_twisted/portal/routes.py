"""The portal's routes under ``/harbor``: method and path pattern to page handler.

Repository names may hold slashes, so what follows a repository is introduced by ``/-/``
(``-`` cannot start a path component of a repository name)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from harbor_twisted.portal.pages import (
    account,
    admin,
    authentication,
    certificate,
    immutability,
    project,
    projects,
    replication,
    repository,
    retention,
    robots,
    search,
    session_pages,
    webhooks,
)
from harbor_twisted.portal.pages.context import Page, PageContext, Redirect

Handler = Callable[[PageContext], Awaitable[Page | Redirect]]

_PROJECT = r"/projects/(?P<project>[^/]+)"
_REPOSITORY = _PROJECT + r"/repositories/(?P<repository>[a-z0-9](?:(?!/-/).)*)"
_ARTIFACT = _REPOSITORY + r"/-/artifacts/(?P<digest>[a-z0-9]+:[a-f0-9]+)"


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    public: bool = False  # reachable without signing in


def _route(method: str, path: str, handler: Handler, public: bool = False) -> Route:
    return Route(method, re.compile(path), handler, public)


def _deletion(path: str, confirm: Handler, delete: Handler) -> tuple[Route, Route]:
    """A deletion is two routes under ``PATH/delete``: GET shows a confirmation page (so it
    works without script), POST deletes."""
    return _route("GET", path + "/delete", confirm), _route("POST", path + "/delete", delete)


ROUTES = (
    _route("GET", r"/?", session_pages.home, public=True),
    _route("GET", r"/sign-in", session_pages.sign_in, public=True),
    _route("POST", r"/log-out", session_pages.log_out),
    _route("GET", r"/projects", projects.list_projects),
    _route("POST", r"/projects", projects.create_project),
    _route("GET", r"/search", search.search),
    _route("GET", r"/certificate", certificate.certificate, public=True),
    _route("GET", _PROJECT, project.repositories),
    _route("GET", _PROJECT + r"/members", project.members),
    _route("POST", _PROJECT + r"/members", project.add_member),
    _route("POST", _PROJECT + r"/members/(?P<member>\d{1,9})", project.change_member),
    *_deletion(_PROJECT + r"/members/(?P<member>\d{1,9})",
               project.confirm_remove_member, project.remove_member),
    _route("GET", _PROJECT + r"/logs", project.logs),
    _route("GET", _PROJECT + r"/webhooks", webhooks.policies),
    _route("POST", _PROJECT + r"/webhooks", webhooks.add_policy),
    *_deletion(_PROJECT + r"/webhooks/(?P<policy>\d{1,9})",
               webhooks.confirm_delete_policy, webhooks.delete_policy),
    _route("GET", _PROJECT + r"/immutability", immutability.rules),
    _route("POST", _PROJECT + r"/immutability", immutability.add_rule),
    *_deletion(_PROJECT + r"/immutability/(?P<rule>\d{1,9})",
               immutability.confirm_delete_rule, immutability.delete_rule),
    _route("GET", _PROJECT + r"/retention", retention.overview),
    _route("POST", _PROJECT + r"/retention/rules", retention.add_rule),
    _route("POST", _PROJECT + r"/retention/rules/(?P<rule>\d{1,2})", retention.edit_rule),
    *_deletion(_PROJECT + r"/retention/rules/(?P<rule>\d{1,2})",
               retention.confirm_delete_rule, retention.delete_rule),
    _route("POST", _PROJECT + r"/retention/schedule", retention.schedule),
    _route("POST", _PROJECT + r"/retention/run", retention.run),
    _route("GET", _PROJECT + r"/retention/executions/(?P<execution>\d{1,9})", retention.execution),
    _route("GET", _PROJECT + r"/robots", robots.robots),
    _route("POST", _PROJECT + r"/robots", robots.create_robot),
    *_deletion(_PROJECT + r"/robots/(?P<robot>\d{1,9})",
               robots.confirm_delete_robot, robots.delete_robot),
    _route("GET", _ARTIFACT, repository.artifact),
    _route("POST", _ARTIFACT + r"/tags", repository.add_tag),
    *_deletion(_ARTIFACT + r"/tags/(?P<tag>[^/]+)",
               repository.confirm_delete_tag, repository.delete_tag),
    *_deletion(_ARTIFACT, repository.confirm_delete_artifact, repository.delete_artifact),
    _route("POST", _REPOSITORY + r"/-/description", repository.describe),
    *_deletion(_REPOSITORY + r"/-",
               repository.confirm_delete_repository, repository.delete_repository),
    _route("GET", _REPOSITORY, repository.artifacts),
    _route("GET", r"/account", account.account),
    _route("POST", r"/account/password", account.change_password),
    _route("POST", r"/account/profile", account.change_profile),
    _route("GET", r"/sign-up", account.sign_up, public=True),
    _route("POST", r"/sign-up", account.register, public=True),
    _route("GET", r"/admin/users", admin.users),
    _route("POST", r"/admin/users", admin.create_user),
    _route("POST", r"/admin/users/(?P<user>\d{1,9})/admin", admin.set_admin),
    *_deletion(r"/admin/users/(?P<user>\d{1,9})", admin.confirm_delete_user, admin.delete_user),
    _route("POST", r"/admin/users/(?P<user>\d{1,9})/password", admin.reset_password),
    _route("GET", r"/admin/groups", admin.groups),
    _route("POST", r"/admin/groups", admin.create_group),
    *_deletion(r"/admin/groups/(?P<group>\d{1,9})", admin.confirm_delete_group, admin.delete_group),
    _route("GET", r"/admin/audit-log", admin.audit_log),
    _route("GET", r"/admin/settings", admin.settings),
    _route("POST", r"/admin/settings", admin.change_settings),
    _route("GET", r"/admin/authentication", authentication.authentication),
    _route("POST", r"/admin/authentication", authentication.save_ldap),
    _route("POST", r"/admin/authentication/ping", authentication.ping),
    _route("GET", r"/admin/authentication/switch", authentication.switch_plan),
    _route("POST", r"/admin/authentication/switch", authentication.switch),
    _route("GET", r"/admin/replication", replication.overview),
    _route("POST", r"/admin/registries", replication.create_registry),
    _route("POST", r"/admin/registries/(?P<registry>\d{1,9})", replication.update_registry),
    *_deletion(r"/admin/registries/(?P<registry>\d{1,9})",
               replication.confirm_delete_registry, replication.delete_registry),
    _route("POST", r"/admin/registries/(?P<registry>\d{1,9})/ping", replication.ping),
    _route("POST", r"/admin/replication/policies", replication.create_policy),
    _route("POST", r"/admin/replication/policies/(?P<policy>\d{1,9})", replication.update_policy),
    *_deletion(r"/admin/replication/policies/(?P<policy>\d{1,9})",
               replication.confirm_delete_policy, replication.delete_policy),
    _route("POST", r"/admin/replication/policies/(?P<policy>\d{1,9})/start", replication.start),
    _route("GET", r"/admin/replication/executions/(?P<execution>\d{1,9})", replication.execution),
    _route("GET", r"/admin/replication/executions/(?P<execution>\d{1,9})/tasks/(?P<task>\d{1,9})",
           replication.task_log),
    _route("GET", r"/admin/gc", admin.gc),
    _route("POST", r"/admin/gc", admin.run_gc),
    _route("POST", r"/admin/gc/schedule", admin.schedule_gc),
    _route("GET", r"/admin/gc/(?P<execution>\d{1,9})", admin.gc_log),
)


def match(method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """The route for ``path`` (below ``/harbor``), its parameters, and whether the path is
    known at all (for 405 against 404)."""
    known = False
    for route in ROUTES:
        found = route.pattern.fullmatch(path)
        if found is None:
            continue
        known = True
        if route.method == method or (method == "HEAD" and route.method == "GET"):
            return route, found.groupdict(), True
    return None, {}, known
