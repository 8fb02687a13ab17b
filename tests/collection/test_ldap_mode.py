"""The collection against a registry in ldap_auth mode and the test slapd: the LDAP
settings through ``configuration`` (the search password write-only, sent with
``update_secret: always``), then members and groups named by the directory.

The server starts in db_auth with no LDAP setting; the playbook configures the directory
and switches the mode itself, as an operator's registry-as-code would.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.collection.batch import BatchOutcome, Section
from tests.collection.conftest import run_batch
from tests.collection.lifecycle import Lifecycle, member_lifecycle, tasks
from tests.support import ldap_directory as directory
from tests.support.server import start_server
from tests.support.slapd import Slapd

M = "harbor_twisted.registry."
SECTIONS = ["ldap_configuration", "ldap_search_password", "ldap_member_user",
            "ldap_member_group", "ldap_usergroup"]


def _api(method: str, path: str, body: Any = None, register: str = "") -> dict[str, Any]:
    args: dict[str, Any] = {
        "url": "{{ harbor_url }}/api/v2.0" + path, "method": method,
        "url_username": "admin", "url_password": "{{ harbor_password }}",
        "force_basic_auth": True, "status_code": [200, 201]}
    if body is not None:
        args.update(body_format="json", body=body)
    task: dict[str, Any] = {"name": f"{method} {path}", "ansible.builtin.uri": args}
    if register:
        task["register"] = register
    return task


def _check(*that: str) -> dict[str, Any]:
    return {"name": "Check", "ansible.builtin.assert": {"that": list(that), "quiet": True}}


def ldap_settings(slapd: Slapd) -> dict[str, Any]:
    return {"ldap_url": slapd.url, "ldap_search_dn": directory.READER_DN,
            "ldap_base_dn": directory.BASE, "ldap_filter": "(objectClass=inetOrgPerson)",
            "ldap_uid": "uid", "ldap_scope": 2, "ldap_timeout": 3,
            "ldap_group_base_dn": directory.GROUPS,
            "ldap_group_search_filter": "(objectClass=groupOfNames)"}


def configuration_spec(slapd: Slapd) -> Lifecycle:
    settings = ldap_settings(slapd)
    password = {"ldap_search_password": directory.READER_PASSWORD}
    return Lifecycle(
        module="configuration", result_key="settings", absent=False,
        create={"settings": settings, "secret_settings": password},
        change={"settings": {**settings, "ldap_timeout": 5}}, field="ldap_timeout",
        read="/configurations",
        stored_before=f"read.json.ldap_url.value == '{slapd.url}' and "
                      "read.json.ldap_timeout.value == 3",
        stored_after="read.json.ldap_timeout.value == 5 and "
                     f"read.json.ldap_base_dn.value == '{directory.BASE}'",
    )


def search_password_tasks(slapd: Slapd) -> list[dict[str, Any]]:
    """The password is never read back: on_create never sends it, always does (a change)."""
    given = {"settings": {"ldap_url": slapd.url},
             "secret_settings": {"ldap_search_password": directory.READER_PASSWORD}}
    wrong = {"settings": {"ldap_url": slapd.url},
             "secret_settings": {"ldap_search_password": "not-the-password"},
             "update_secret": "always"}
    return [
        {"name": "Wrong password, sent", M + "configuration": wrong, "register": "sent_wrong"},
        _api("POST", "/ldap/ping", register="ping_wrong"),
        {"name": "The right one, on_create (never sent)", M + "configuration": given,
         "register": "kept", "diff": True},
        _api("POST", "/ldap/ping", register="ping_still_wrong"),
        {"name": "The right one, always", M + "configuration": {
            **given, "update_secret": "always"}, "register": "sent", "diff": True},
        _api("POST", "/ldap/ping", register="ping"),
        _api("GET", "/configurations", register="stored"),
        _check("sent_wrong is changed and not ping_wrong.json.success",
               "kept is not changed and not ping_still_wrong.json.success",
               "sent is changed and ping.json.success",
               f"'{directory.READER_PASSWORD}' not in (sent | to_json)",
               f"'{directory.READER_PASSWORD}' not in (stored.json | to_json)"),
        {"name": "ldap_auth (no user but admin yet: a plain setting)", M + "configuration": {
            "settings": {"auth_mode": "ldap_auth"}}, "register": "mode"},
        _api("GET", "/systeminfo", register="info"),
        _check("mode is changed and info.json.auth_mode == 'ldap_auth'"),
    ]


def member_user_spec(s: str) -> Lifecycle:
    """A directory user, imported first (``/ldap/users/import``, as Harbor's portal does)."""
    project, user = f"coll-lu-{s}", directory.ALICE.uid
    return member_lifecycle(project, {"user": user}, user, setup=[
        {"name": "Project", M + "project": {"name": project}},
        _api("POST", "/ldap/users/import", {"ldap_uid_list": [user]})])


def member_group_spec(s: str) -> Lifecycle:
    """The group by its DN, not known to the registry yet: the module imports it."""
    project = f"coll-lg-{s}"
    return member_lifecycle(
        project, {"group": directory.DEVELOPERS}, "developers",
        setup=[{"name": "Project", M + "project": {"name": project}}],
        roles=("guest", "maintainer"), stored_extra="read.json[0].entity_type == 'g'")


def usergroup_spec() -> Lifecycle:
    dn = directory.INNER
    found = f"read.json | selectattr('ldap_group_dn', 'equalto', '{dn}') | list"
    return Lifecycle(
        module="usergroup", result_key="group",
        create={"name": "inner", "group_type": "ldap", "ldap_group_dn": dn},
        change={"name": "inner-team"}, field="name",
        read="/usergroups",
        stored_before=f"{found} | map(attribute='group_type') | list == [1]",
        stored_after=f"{found} | map(attribute='group_name') | list == ['inner-team']",
        gone=f"{found} == []",
        absent_args={"name": "inner-team", "group_type": "ldap", "ldap_group_dn": dn,
                     "state": "absent"},
    )


# PostgreSQL passes as well (params=["sqlite", "postgresql"]); it is left out of make test for
# the minutes a second server and its playbook cost, which the collection's budget lacks.
@pytest.fixture(scope="module", params=["sqlite"])
def ldap_outcome(request: pytest.FixtureRequest, slapd: Slapd,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[BatchOutcome]:
    """A fresh db_auth server per database; one playbook makes it ldap_auth and runs the
    lifecycles (tests/collection/batch.py)."""
    workdir = tmp_path_factory.mktemp(f"ldap-{request.param}")
    database_url = ("" if request.param == "sqlite"
                    else request.getfixturevalue("postgres_cluster").create_database())
    server = start_server(workdir / "data", database_url)
    s = secrets.token_hex(3)
    try:
        # the directory and ldap_auth first, one after the other; then the members and the
        # group side by side
        first = run_batch(server, workdir / "first", [
            Section("ldap_configuration", tasks(configuration_spec(slapd))),
            Section("ldap_search_password", search_password_tasks(slapd)),
        ], parallel=False)
        then = run_batch(server, workdir / "then", [
            Section("ldap_member_user", tasks(member_user_spec(s))),
            Section("ldap_member_group", tasks(member_group_spec(s))),
            Section("ldap_usergroup", tasks(usergroup_spec())),
        ])
        yield first.joined(then)
    finally:
        server.stop()


@pytest.mark.parametrize("section", SECTIONS)
def test_ldap_mode_lifecycle(section: str, ldap_outcome: BatchOutcome) -> None:
    assert section in ldap_outcome.done, ldap_outcome.explain(section)
