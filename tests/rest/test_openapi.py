"""The OpenAPI document: it describes exactly the routes the router has, it is valid
OpenAPI 3, and schemathesis fuzzing of a private server through it finds no 5xx and no
answer that contradicts it."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode, checks
from schemathesis.config import SchemathesisConfig
from sqlalchemy import Boolean, DateTime, Integer, create_engine

from harbor_twisted.api import openapi
from harbor_twisted.api.app import PREFIX, build_api
from harbor_twisted.config import load_config
from harbor_twisted.core.identity import IdentityService
from harbor_twisted.db import (
    artifact_store,
    audit_store,
    group_store,
    project_store,
    repository_store,
    robot_store,
    user_store,
)
from harbor_twisted.db.engine import Database
from tests.rest.conftest import (
    API,
    Client,
    add_member,
    create_project,
    create_user,
    unique,
)
from tests.support.oci import push_image

_PARAMETER = re.compile(r"\{([a-z_]+)\}")
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

# Generated cases per operation and pass, from a fixed seed (hypothesis's derandomize):
# every operation gets ADMIN_POSITIVE requests the document allows, checked for no 5xx, a
# documented status, a conforming body and acceptance (positive data acceptance).
ADMIN_POSITIVE = 20
ADMIN_EXISTING = 8
ADMIN_NEGATIVE = 8
ANONYMOUS = 3
MIN_CASES = 1000
FAILURES_SHOWN_PER_OPERATION = 3


def _router_operations(tmp_path: Path) -> set[tuple[str, str]]:
    """(template, method) of every route, from a router built in-process (no database is
    touched: building the API only wires services together)."""
    config = load_config(None, {"HT_DATA": str(tmp_path)})
    identity = IdentityService(Database(create_engine("sqlite://")), config)
    router = build_api(config, identity).router
    assert router.prefix == PREFIX
    return {(route.template.rstrip("/") or "/", method.lower())
            for route in router.routes for method in route.methods}


def _document_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items()
            for method in item if method in HTTP_METHODS}


def test_document_describes_exactly_the_routes(tmp_path):
    routes = _router_operations(tmp_path)
    described = _document_operations(openapi.document())
    undescribed = sorted(routes - described)
    assert not undescribed, f"routes without a description in api/openapi/: {undescribed}"
    stale = sorted(described - routes)
    assert not stale, f"described operations the router does not have: {stale}"


def test_document_is_valid_openapi_3(registry):
    response = requests.get(registry.url + API + "/openapi.json", timeout=30)  # anonymous
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    document = response.json()
    assert document["openapi"].startswith("3.0")
    assert document["servers"] == [{"url": PREFIX}]
    validate(document)
    assert document == openapi.document()


def test_fragments_cannot_shadow_each_other():
    document = {"paths": {"/ping": {}}, "components": {"schemas": {"Errors": {}}}, "tags": []}
    with pytest.raises(openapi.OpenApiError, match="path /ping"):
        openapi._merge(document, "x.yaml", {"paths": {"/ping": {}}})
    with pytest.raises(openapi.OpenApiError, match="components/schemas/Errors"):
        openapi._merge(document, "x.yaml", {"components": {"schemas": {"Errors": {}}}})
    with pytest.raises(openapi.OpenApiError, match="only paths, components and tags"):
        openapi._merge(document, "x.yaml", {"info": {}})


def _integer_schemas(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node] if node.get("type") == "integer" else []
        return found + [s for value in node.values() for s in _integer_schemas(value)]
    if isinstance(node, list):
        return [s for value in node for s in _integer_schemas(value)]
    return []


def test_every_integer_states_the_64_bit_bounds_the_handlers_enforce():
    """The handlers refuse integers beyond 64 bits (a 400): the document must not allow
    them, or generated clients send what fails (the fuzzer found dest_registry.id = -1e25)."""
    schemas = _integer_schemas(openapi.document())
    assert len(schemas) > 50
    for schema in schemas:
        assert -(2**63) <= schema["minimum"] <= schema["maximum"] <= 2**63 - 1, schema
    rules = openapi.document()["components"]["schemas"]["ReplicationPolicyRules"]
    assert rules["properties"]["dest_registry"]["properties"]["id"]["minimum"] == 0


def _kind(column: Any) -> str:
    """A listing column's kind as ``x-listing`` names it (api/openapi.py)."""
    for kind, types in (("boolean", Boolean), ("integer", Integer), ("time", DateTime)):
        if isinstance(column.type, types):
            return kind
    return "string"


def test_listing_keys_are_those_the_stores_filter_and_sort_by():
    """Each ``x-listing`` names exactly the keys its store's listing knows, by kind, so the
    q and sort patterns written from it accept what the store accepts."""
    with create_engine("sqlite://").connect() as conn:
        _, repository_columns = repository_store._repositories(conn)
    columns = {
        "/audit-logs": audit_store.AUDIT_COLUMNS,
        "/projects": project_store.PROJECT_COLUMNS,
        "/projects/{project}/logs": audit_store.AUDIT_COLUMNS,
        "/repositories": repository_columns,
        "/projects/{project}/repositories": repository_columns,
        "/projects/{project}/repositories/{repository}/artifacts": artifact_store.ARTIFACT_COLUMNS,
        "/projects/{project}/repositories/{repository}/artifacts/{reference}/tags":
            artifact_store.TAG_COLUMNS,
        "/robots": robot_store.ROBOT_COLUMNS,
        "/usergroups": group_store.GROUP_COLUMNS,
        "/users": user_store.USER_COLUMNS,
    }
    listed = {path: item["get"][openapi.LISTING] for _, fragment in openapi._fragments()
              for path, item in (fragment.get("paths") or {}).items()
              if openapi.LISTING in item.get("get", {})}
    assert set(columns) <= set(listed)
    for path, known in columns.items():
        documented = {key: kind for key, kind in listed[path].items() if kind != "tags"}
        assert documented == {key: _kind(column) for key, column in known.items()}, path
    # webhook policies are filtered by name only (api/webhooks.py)
    assert listed["/projects/{project}/webhook/policies"] == {"name": "string"}


@pytest.mark.parametrize(("key", "value"), [
    ("username", "~adm"), ("username", "admin"), ("user_id", "[1~]"), ("user_id", "{1 2}"),
    ("sysadmin_flag", "true"), ("creation_time", "[2020-01-01~2030-01-01 00:00:00]"),
])
def test_q_pattern_takes_what_the_listing_parses(key, value):
    (q,) = [p for p in openapi.document()["paths"]["/users"]["get"]["parameters"]
            if p.get("name") == "q"]
    assert re.search(q["schema"]["pattern"], f"{key}={value}")
    assert re.search(q["schema"]["pattern"], f"{key}={value},username=x")
    assert not re.search(q["schema"]["pattern"], f"unknown={value}")


IMMUTABLE_RULE = {
    "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                        "pattern": "**"}]},
    "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "rel-*"}],
}

RETENTION_POLICY = {
    "algorithm": "or", "trigger": {"kind": "Schedule", "settings": {"cron": ""}},
    "rules": [{"template": "latestPushedK", "params": {"latestPushedK": 1},
               "scope_selectors": IMMUTABLE_RULE["scope_selectors"],
               "tag_selectors": [{"kind": "doublestar", "decoration": "matches",
                                  "pattern": "**"}]}],
}

# -- fuzzing ---------------------------------------------------------------------------------

# Data the document allows must be accepted. 412 joins schemathesis's list of answers that
# do not mean "refused": like 409 it reports the server's state (LDAP not configured, a
# registry still used by a policy), not the request's shape.
CONFIG = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "412", "429"]}}})

# Rules OpenAPI 3.0 cannot state, each written in the operation's description: a request the
# document allows may be refused with 400 only for these, and only with this message.
CROSS_FIELD = {
    # one of two query parameters
    "GET /ldap/groups/search": "give groupname or groupdn",
    # the body's key must be the path's meta_name
    "PUT /projects/{project}/metadatas/{meta_name}": "the body must hold the",
    # the auth mode switch moves users: auth_mode alone in the body (force=true included)
    "PUT /configurations": "change it alone|takes a body of auth_mode alone",
    # the DN must name a group the directory holds
    "POST /usergroups": "LDAP Group DN is not found",
    # a policy stays with its project
    "PUT /retentions/{id}": "scope.ref cannot change",
    # the endpoint must answer
    "POST /registries/ping": "failed to ping the registry",
    # exactly one remote endpoint, which must exist; event triggers for push policies only
    "POST /replication/policies": "src_registry and dest_registry|not found|event_based",
    "PUT /replication/policies/{policy_id}": "src_registry and dest_registry|not found|event_based",
    # one permission per project; repository push needs repository pull; a robot keeps its
    # level and name
    "POST /robots": "appears in two permissions|push needs repository pull",
    "PUT /robots/{robot_id}": "appears in two permissions|push needs repository pull|cannot update "
                              "the level or name",
}

# Changing the configuration changes what every later request meets (authentication mode,
# LDAP servers, robot prefix): these run last, after every other operation.
LAST = frozenset({"PUT /configurations"})


def _seed(admin: Client) -> None:
    """Something for the generated requests to find: a user, and projects with members."""
    user = create_user(admin)
    for public in (True, False):
        project = create_project(admin, public=public)
        add_member(admin, project, user, 2)
    push_image(admin.url, "library/seeded", tag="v1")


def _created_id(response: requests.Response) -> int:
    assert response.status_code == 201, response.text
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _manual_gc(admin: Client) -> requests.Response:
    """A dry-run garbage collection (waiting while a generated one still runs)."""
    deadline = time.monotonic() + 60
    while True:
        response = admin.post("/system/gc/schedule", json={
            "schedule": {"type": "Manual"}, "parameters": {"dry_run": True}})
        if response.status_code != 409 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def _existing(admin: Client, path: str) -> dict[str, Any]:
    """Path parameters naming resources made for this one operation, so generated requests
    reach the handlers' success paths (and may change or delete what they were given)."""
    names = set(_PARAMETER.findall(path))
    fixed: dict[str, Any] = {}
    if "project" in names:
        fixed["project"] = create_project(admin)
        response = admin.post(f"/projects/{fixed['project']}/metadatas",
                              json={"auto_scan": "true"})
        assert response.status_code == 200, response.text
    if names & {"repository", "reference", "tag"}:
        push_image(admin.url, f"{fixed['project']}/app", tag="v1")
        fixed.update(repository="app", reference="v1", tag="v1")
    if names & {"user_id", "mid"}:
        user = create_user(admin)
        fixed["user_id"] = user.id
        if "mid" in names:
            fixed["mid"] = add_member(admin, fixed["project"], user, 3)
    if "meta_name" in names:
        fixed["meta_name"] = "auto_scan"
    if "robot_id" in names:
        fixed["robot_id"] = _created_id(admin.post("/robots", json={
            "name": unique("fuzz"), "level": "system", "duration": -1,
            "permissions": [{"kind": "project", "namespace": "*",
                             "access": [{"resource": "repository", "action": "pull"}]}]}))
    if "group_id" in names:
        fixed["group_id"] = _created_id(admin.post("/usergroups", json={
            "group_name": unique("fuzz"), "group_type": 2}))
    if "gc_id" in names:
        fixed["gc_id"] = _created_id(_manual_gc(admin))
    if "webhook_policy_id" in names:
        fixed.update(_webhook_ids(admin, fixed["project"], names))
    elif names & {"registry_id", "policy_id", "execution_id", "task_id"}:
        fixed.update(_replication_ids(admin, names))
    if "quota_id" in names:
        project_id = admin.get(f"/projects/{create_project(admin)}").json()["project_id"]
        quotas = admin.get("/quotas", params={"reference_id": str(project_id)}).json()
        fixed["quota_id"] = quotas[0]["id"]
    if "id" in names and path.startswith("/retentions"):
        project = create_project(admin)
        ref = admin.get(f"/projects/{project}").json()["project_id"]
        fixed["id"] = _created_id(admin.post("/retentions", json={
            **RETENTION_POLICY, "scope": {"level": "project", "ref": ref}}))
    if "eid" in names:
        fixed["eid"] = _created_id(admin.post(f"/retentions/{fixed['id']}/executions",
                                              json={"dry_run": True}))
    if "tid" in names:
        tasks = admin.get(f"/retentions/{fixed['id']}/executions/{fixed['eid']}/tasks").json()
        fixed["tid"] = tasks[0]["id"]
    if "immutable_rule_id" in names:
        fixed["immutable_rule_id"] = _created_id(admin.post(
            f"/projects/{fixed['project']}/immutabletagrules", json=IMMUTABLE_RULE))
    unknown = names - set(fixed)
    assert not unknown, f"_existing cannot make {unknown} for {path} yet"
    return fixed


def _replication_ids(admin: Client, names: set[str]) -> dict[str, Any]:
    """An endpoint (this server itself), a policy copying ``library/seeded`` to it under
    another namespace, and, when asked for, an ended execution with its one task."""
    password = admin.auth[1] if admin.auth else ""
    fixed: dict[str, Any] = {"registry_id": _created_id(admin.post("/registries", json={
        "name": unique("fuzz"), "type": "harbor", "url": admin.url,
        "credential": {"type": "basic", "access_key": "admin", "access_secret": password}}))}
    fixed["policy_id"] = _created_id(admin.post("/replication/policies", json={
        "name": unique("fuzz"), "dest_registry": {"id": fixed["registry_id"]},
        "dest_namespace": "library", "filters": [{"type": "name", "value": "library/seeded"}],
        "trigger": {"type": "manual"}}))
    if names & {"execution_id", "task_id"}:
        execution_id = _created_id(admin.post("/replication/executions",
                                              json={"policy_id": fixed["policy_id"]}))
        fixed["execution_id"] = execution_id
        deadline = time.monotonic() + 60
        tasks: list[Any] = []
        while time.monotonic() < deadline:
            tasks = admin.get(f"/replication/executions/{execution_id}/tasks").json()
            if tasks and tasks[0]["status"] != "Running":
                break
            time.sleep(0.2)
        fixed["task_id"] = tasks[0]["id"] if tasks else 0
    return {name: fixed[name] for name in names if name in fixed}


def _webhook_ids(admin: Client, project: str, names: set[str]) -> dict[str, Any]:
    """A policy of ``project`` whose target nobody listens at, and, when asked for, the
    execution (and its task) that a push into the project made for it."""
    fixed: dict[str, Any] = {"webhook_policy_id": _created_id(admin.post(
        f"/projects/{project}/webhook/policies", json={
            "name": unique("fuzz"), "event_types": ["PUSH_ARTIFACT"],
            "targets": [{"type": "http", "address": "http://127.0.0.1:9/hook"}]}))}
    if names & {"execution_id", "task_id"}:
        push_image(admin.url, f"{project}/hooked", tag="v1")
        base = f"/projects/{project}/webhook/policies/{fixed['webhook_policy_id']}/executions"
        deadline = time.monotonic() + 60
        while not (executions := admin.get(base).json()) and time.monotonic() < deadline:
            time.sleep(0.2)
        fixed["execution_id"] = executions[0]["id"]
        tasks = admin.get(f"{base}/{fixed['execution_id']}/tasks").json()
        fixed["task_id"] = tasks[0]["id"]
    return {name: fixed[name] for name in names if name in fixed}


def _checks_for(label: str, response: requests.Response, check_list: list[Any]) -> list[Any]:
    """``check_list``, less positive data acceptance for a CROSS_FIELD refusal."""
    rule = CROSS_FIELD.get(label)
    if response.status_code == 400 and rule is not None and re.search(rule, response.text):
        return [check for check in check_list if check is not checks.positive_data_acceptance]
    return check_list


class Fuzzer:
    """Runs each operation's generated cases through one pass and keeps count and failures."""

    def __init__(self, schema: Any) -> None:
        self.operations = [result.ok() for result in schema.get_all_operations()]
        self.cases: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.seconds: Counter[str] = Counter()
        self.succeeded: set[str] = set()  # operations answered with a 2xx at least once
        self.failures: dict[str, list[str]] = {}

    def run(self, name: str, mode: GenerationMode, auth: tuple[str, str] | None,
            examples: int, check_list: list[Any], existing: Client | None = None,
            last: bool = False) -> None:
        """One pass over the operations (those in LAST only when ``last``); with ``existing``
        (the admin) only operations with path parameters, each given resources that exist."""
        session = requests.Session()
        session.auth = auth
        for operation in self.operations:
            if (operation.label in LAST) != last:
                continue
            fixed = None
            if existing is not None:
                if not _PARAMETER.search(operation.path):
                    continue
                fixed = _existing(existing, operation.path)
            self._operation(operation, f"{name} {operation.label}", mode, session, examples,
                            check_list, fixed)

    def _operation(self, operation: Any, label: str, mode: GenerationMode,
                   session: requests.Session, examples: int, check_list: list[Any],
                   path_parameters: dict[str, Any] | None) -> None:
        started = time.monotonic()
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

        @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def one(case: schemathesis.Case) -> None:
            self.cases[label] += 1
            try:
                response = case.call(session=session, timeout=30)
                self.statuses[response.status_code] += 1
                if response.status_code < 300:
                    self.succeeded.add(operation.label)
                case.validate_response(response, checks=_checks_for(operation.label, response,
                                                                    check_list))
            # schemathesis's FailureGroup is a BaseExceptionGroup. Every failure is kept and
            # reported at the end, not only the first.
            except (Exception, BaseExceptionGroup) as error:
                found = self.failures.setdefault(label, [])
                if len(found) < FAILURES_SHOWN_PER_OPERATION:
                    found.append(f"{type(error).__name__}: {error}"[:3000])

        one()
        self.seconds[label] += time.monotonic() - started


@pytest.mark.slow
def test_fuzzing_finds_no_server_error_and_no_undocumented_answer(start_registry):
    server = start_registry()
    admin = Client(server.url, ("admin", server.admin_password))
    _seed(admin)
    schema = schemathesis.openapi.from_url(server.url + API + "/openapi.json", config=CONFIG)
    conformance = [checks.not_a_server_error, checks.status_code_conformance,
                   checks.content_type_conformance, checks.response_headers_conformance,
                   checks.response_schema_conformance, checks.positive_data_acceptance]
    # Data that breaks the schema must be refused with a 4xx, never a 5xx.
    no_5xx = [checks.not_a_server_error]
    fuzzer = Fuzzer(schema)
    started = time.monotonic()
    for last in (False, True):
        fuzzer.run("admin", GenerationMode.POSITIVE, admin.auth, ADMIN_POSITIVE, conformance,
                   last=last)
        fuzzer.run("admin-existing", GenerationMode.POSITIVE, admin.auth, ADMIN_EXISTING,
                   conformance, existing=admin, last=last)
        fuzzer.run("anonymous", GenerationMode.POSITIVE, None, ANONYMOUS, conformance,
                   last=last)
        fuzzer.run("admin-negative", GenerationMode.NEGATIVE, admin.auth, ADMIN_NEGATIVE,
                   no_5xx, last=last)
    elapsed = time.monotonic() - started
    total = sum(fuzzer.cases.values())
    print(f"\nschemathesis: {total} cases over {len(fuzzer.cases)} operation passes in "
          f"{elapsed:.0f}s; statuses {dict(sorted(fuzzer.statuses.items()))}")
    slowest = ", ".join(f"{label} {seconds:.1f}s"
                        for label, seconds in fuzzer.seconds.most_common(8))
    passes = Counter(label.split(" ", 1)[0] for label in fuzzer.cases.elements())
    print(f"slowest: {slowest}; cases per pass: {dict(passes)}")
    never = sorted({op.label for op in fuzzer.operations} - fuzzer.succeeded)
    print(f"operations never answered with a 2xx (schema conformance unexercised): {never}")
    report = "\n\n".join(f"== {label}\n" + "\n--\n".join(found)
                         for label, found in sorted(fuzzer.failures.items()))
    assert not fuzzer.failures, f"{len(fuzzer.failures)} operation passes failed:\n{report}"
    assert not any(status >= 500 for status in fuzzer.statuses)
    assert total >= MIN_CASES, fuzzer.cases
    # every operation met at least ADMIN_POSITIVE generated requests the document allows
    assert {label for label, count in fuzzer.cases.items()
            if label.startswith("admin ") and count >= ADMIN_POSITIVE} == {
        f"admin {operation.label}" for operation in fuzzer.operations}
    assert server.process.poll() is None, "the server died under fuzzing"
