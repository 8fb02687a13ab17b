"""Many tests' plays as one ``ansible-playbook`` run.

Starting ``ansible-playbook`` costs seconds of CPU (interpreter, collection loader,
inventory); so the lifecycles of a test module run as sections of one playbook. Each
section is a task file holding one block whose ``rescue`` records the task that failed and
why, so one broken module fails its own test and the others still run.

Independent sections run side by side: each is a host of its own (all local), the play
uses the ``free`` strategy and ``forks`` lets several modules wait on the server at once.
Sections that depend on each other run one after the other on one host.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.collection.ansible_runner import PlaybookRun

FORKS = 4


@dataclass
class Section:
    name: str  # a test's key: letters, digits and underscores
    tasks: list[dict[str, Any]]
    variables: dict[str, Any] = field(default_factory=dict)  # the block's vars
    check: bool = False  # the whole section in check mode


@dataclass
class BatchOutcome:
    run: PlaybookRun
    done: list[str]
    failed: dict[str, str]

    def explain(self, name: str) -> str:
        """Why the section ``name`` did not pass: its failed task, or the run's tail."""
        return self.failed.get(name) or self.run.tail()

    def joined(self, later: BatchOutcome) -> BatchOutcome:
        """This outcome and a later run's (whose run explains what neither recorded)."""
        return BatchOutcome(later.run, self.done + later.done, {**self.failed, **later.failed})


@dataclass
class BatchPlan:
    hosts: list[str]
    tasks: list[dict[str, Any]]
    strategy: str
    forks: int


def plan_batch(sections: list[Section], workdir: Path, parallel: bool) -> BatchPlan:
    """Write each section's task file under ``workdir``; the play that includes them."""
    files = workdir / "sections"
    files.mkdir(parents=True, exist_ok=True)
    for section in sections:
        (files / f"{section.name}.json").write_text(json.dumps([_block(section)], indent=1))
    outcomes = workdir / "outcomes"
    outcomes.mkdir(exist_ok=True)
    start = {"name": "Nothing done yet", "ansible.builtin.set_fact": {
        "batch_done": [], "batch_failed": {}}}
    end = {"name": "Write the outcome", "ansible.builtin.copy": {
        "dest": f"{outcomes}/{{{{ inventory_hostname }}}}.json", "mode": "0600",
        "content": "{{ {'done': batch_done, 'failed': batch_failed} | to_json }}"}}
    if parallel:
        include = {"name": "This host's section", "ansible.builtin.include_tasks": {
            "file": f"{files}/{{{{ inventory_hostname }}}}.json"}}
        hosts = [section.name for section in sections]
        return BatchPlan(hosts, [start, include, end], "free", min(FORKS, len(hosts)))
    include = {"name": "Each section in turn", "ansible.builtin.include_tasks": {
        "file": f"{files}/{{{{ batch_section }}}}.json"},
        "loop": [section.name for section in sections],
        "loop_control": {"loop_var": "batch_section"}}
    return BatchPlan(["localhost"], [start, include, end], "linear", 1)


def read_outcome(run: PlaybookRun, workdir: Path) -> BatchOutcome:
    outcome = BatchOutcome(run, [], {})
    for found in sorted((workdir / "outcomes").glob("*.json")):
        answer = json.loads(found.read_text())
        outcome.done += answer["done"]
        outcome.failed.update(answer["failed"])
    return outcome


def _block(section: Section) -> dict[str, Any]:
    name = section.name
    why = ("{{ ansible_failed_task.name }}: {{ ansible_failed_result.msg | default('') }} "
           "{{ ansible_failed_result.assertion | default('') }}")
    block: dict[str, Any] = {
        "name": name,
        "block": [{**task, "name": f"[{name}] {task.get('name', '')}"} for task in section.tasks]
        + [{"name": f"[{name}] passed", "ansible.builtin.set_fact": {
            "batch_done": "{{ batch_done + ['" + name + "'] }}"}}],
        "rescue": [{"name": f"[{name}] record the failure", "ansible.builtin.set_fact": {
            "batch_failed": "{{ batch_failed | combine({'" + name + "': failure}) }}"},
            "vars": {"failure": why}}],
        "vars": section.variables,
    }
    if section.check:
        block["check_mode"] = True
    return block
