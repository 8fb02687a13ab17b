"""The lifecycle every object module must pass, written once as a playbook builder:
create -> rerun unchanged -> change one field in check mode (predicted, diff shows exactly
that field, nothing written) -> apply -> rerun unchanged -> delete (check mode first) ->
rerun absent unchanged. Each step is an assertion inside the playbook, and what was
written is read back through the REST API with ``uri``, not through the module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Lifecycle:
    module: str  # short name in harbor_twisted.registry
    create: dict[str, Any]  # arguments of the first run
    change: dict[str, Any] | None  # arguments laid over create for the change (None: none)
    field: str  # the one field of the diff that the change moves
    read: str  # API path (under /api/v2.0) that shows the object
    stored_before: str  # Jinja test on ``read`` (the uri result) before the change
    stored_after: str  # ... and after it
    result_key: str  # the key the module returns the object under
    absent: bool = True  # state: absent exists for this module
    gone: str = "read.status == 404"  # Jinja test on ``read`` once deleted
    absent_args: dict[str, Any] | None = None  # arguments for deletion (else create + absent)
    setup: list[dict[str, Any]] = field(default_factory=list)
    teardown: list[dict[str, Any]] = field(default_factory=list)


ROLE_IDS = {"project_admin": 1, "developer": 2, "guest": 3, "maintainer": 4}


def member_lifecycle(project: str, member: dict[str, str], entity_name: str,
                     setup: list[dict[str, Any]], roles: tuple[str, str] = ("guest", "developer"),
                     stored_extra: str = "true") -> Lifecycle:
    """project_member for ``member`` ({"user": ...} or {"group": ...}), listed in the
    project as ``entity_name``: role ``roles[0]``, changed to ``roles[1]``, then removed
    with the project."""
    role_ids = "read.json | map(attribute='role_id') | list == "
    return Lifecycle(
        module="project_member", result_key="member", setup=setup,
        create={"project": project, **member, "role": roles[0]},
        change={"role": roles[1]}, field="role",
        read=f"/projects/{project}/members?entityname={entity_name}",
        stored_before=f"{role_ids}[{ROLE_IDS[roles[0]]}] and {stored_extra}",
        stored_after=f"{role_ids}[{ROLE_IDS[roles[1]]}]",
        gone="read.json == []",
        absent_args={"project": project, **member, "state": "absent"},
        teardown=[{"name": f"Project {project} absent",
                   _module("project"): {"name": project, "state": "absent"}}],
    )


def _module(name: str) -> str:
    return f"harbor_twisted.registry.{name}"


def _read(path: str) -> dict[str, Any]:
    return {
        "name": f"Read {path} through the API",
        "ansible.builtin.uri": {
            "url": "{{ harbor_url }}/api/v2.0" + path,
            "url_username": "{{ harbor_username }}",
            "url_password": "{{ harbor_password }}",
            "force_basic_auth": True, "status_code": [200, 404],
        },
        "register": "read",
    }


def _assert(name: str, *that: str) -> dict[str, Any]:
    return {"name": name, "ansible.builtin.assert": {"that": list(that), "quiet": True}}


def _run(name: str, module: str, args: dict[str, Any], register: str,
         check: bool = False) -> dict[str, Any]:
    task: dict[str, Any] = {"name": name, _module(module): args, "register": register,
                            "diff": True}
    if check:
        task["check_mode"] = True
    return task


def tasks(spec: Lifecycle) -> list[dict[str, Any]]:
    key = spec.result_key
    steps = list(spec.setup)
    steps += [
        _run("Create", spec.module, spec.create, "created"),
        _run("Create again", spec.module, spec.create, "rerun"),
        _assert("Creation changed, the rerun did not", "created is changed",
                "rerun is not changed", f"rerun.{key} is mapping"),
        _read(spec.read),
        _assert("Created as asked", spec.stored_before),
    ]
    if spec.change is not None:
        steps += _change_steps(spec)
    if spec.absent:
        steps += _absent_steps(spec)
    steps += spec.teardown
    return steps


def _change_steps(spec: Lifecycle) -> list[dict[str, Any]]:
    changed_args = {**spec.create, **(spec.change or {})}
    return [
        _run("Change one field in check mode", spec.module, changed_args, "predicted", True),
        _read(spec.read),
        _assert(f"Check mode predicted a change of {spec.field} alone and wrote nothing",
                "predicted is changed",
                f"predicted.diff.before['{spec.field}'] != predicted.diff.after['{spec.field}']",
                f"predicted.diff.before | combine({{'{spec.field}': "
                f"predicted.diff.after['{spec.field}']}}) == predicted.diff.after",
                spec.stored_before),
        _run("Apply the change", spec.module, changed_args, "applied"),
        _read(spec.read),
        _assert("The change was written", "applied is changed", spec.stored_after,
                "applied.diff.after == predicted.diff.after"),
        _run("Apply the change again", spec.module, changed_args, "reapplied"),
        _assert("The rerun of the change changed nothing", "reapplied is not changed",
                "reapplied.diff.before == reapplied.diff.after"),
    ]


def _absent_steps(spec: Lifecycle) -> list[dict[str, Any]]:
    gone_args = spec.absent_args or {**spec.create, "state": "absent"}
    stored = spec.stored_after if spec.change is not None else spec.stored_before
    return [
        _run("Delete in check mode", spec.module, gone_args, "predicted_gone", True),
        _read(spec.read),
        _assert("Check mode predicted the deletion and deleted nothing",
                "predicted_gone is changed", stored),
        _run("Delete", spec.module, gone_args, "deleted"),
        _read(spec.read),
        _assert("Deleted", "deleted is changed", spec.gone),
        _run("Delete again", spec.module, gone_args, "deleted_again"),
        _assert("Deleting what is absent changed nothing", "deleted_again is not changed"),
    ]
