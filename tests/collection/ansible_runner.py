"""Run ``ansible-playbook`` from the project's Ansible venv against a test server.

The playbooks use the collection from the repository's ``collections/`` directory, set the
connection options once through the ``group/harbor_twisted.registry.all`` module defaults,
and read the admin password from an extra-vars file (never from the command line).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_BIN = ROOT / ".venv-ansible" / "bin"
COLLECTIONS = ROOT / "collections"


@dataclass
class PlaybookRun:
    returncode: int
    output: str

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def ansible_tool(name: str) -> Path:
    """A tool of the Ansible venv; a missing venv fails (it is never a reason to skip)."""
    tool = ANSIBLE_BIN / name
    if not tool.exists():
        pytest.fail(f"{tool} is missing: run `make ansible-setup` (make test does it first)")
    return tool


def play(tasks: list[dict[str, Any]], name: str = "harbor_twisted.registry",
         strategy: str = "linear") -> list[dict]:
    """One play on the inventory's hosts (all local) with the collection's connection
    options as module defaults."""
    return [{
        "name": name,
        "hosts": "all",
        "strategy": strategy,
        "gather_facts": False,
        "module_defaults": {"group/harbor_twisted.registry.all": {
            "url": "{{ harbor_url }}", "username": "{{ harbor_username }}",
            "password": "{{ harbor_password }}"}},
        "tasks": tasks,
    }]


def run_playbook(playbook: list[dict], workdir: Path, variables: dict[str, Any],
                 check: bool = False, timeout: int = 300,
                 hosts: tuple[str, ...] = ("localhost",), forks: int = 1,
                 diff: bool = False) -> PlaybookRun:
    workdir.mkdir(parents=True, exist_ok=True)
    book = workdir / "playbook.yml"
    book.write_text(json.dumps(playbook, indent=1))  # JSON is YAML
    extra = workdir / "vars.json"
    extra.write_text(json.dumps({
        "ansible_python_interpreter": str(ANSIBLE_BIN / "python"), **variables}))
    extra.chmod(0o600)
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp"),
        "ANSIBLE_REMOTE_TEMP": str(workdir / "tmp"),
        "ANSIBLE_HOME": str(workdir / "home"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_PIPELINING": "1",
        "ANSIBLE_FORKS": str(forks),
        "ANSIBLE_GATHERING": "explicit",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_PYTHON_INTERPRETER": str(ANSIBLE_BIN / "python"),
        "PATH": f"{ANSIBLE_BIN}:{env.get('PATH', '')}",
    })
    args = [str(ansible_tool("ansible-playbook")), "-i", ",".join(hosts) + ",", "-c", "local",
            "-e", f"@{extra}", str(book)]
    if check:
        args.append("--check")
    if diff:
        args.append("--diff")
    done = subprocess.run(args, cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    return PlaybookRun(done.returncode, done.stdout + done.stderr)
