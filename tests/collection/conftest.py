"""Fixtures for the collection's tests: a playbook runner bound to a test server."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.collection.ansible_runner import PlaybookRun, play, run_playbook
from tests.collection.batch import BatchOutcome, Section, plan_batch, read_outcome
from tests.ldap.conftest import slapd  # noqa: F401 (the example directory, for ldap_auth)
from tests.support.server import RegistryServer, start_server

Runner = Callable[..., PlaybookRun]


@pytest.fixture
def suffix() -> str:
    """A name tail that keeps objects of one test apart from the session's others."""
    return secrets.token_hex(3)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """One SQLite-backed server for the collection's tests (every object has a name of its
    own, so the tests share it; a start costs seconds)."""
    started = start_server(tmp_path_factory.mktemp("collection") / "data")
    yield started
    started.stop()


@pytest.fixture
def ansible(server: RegistryServer, tmp_path: Path) -> Runner:
    """``ansible(tasks)`` runs the tasks as one play against the module's server."""
    return runner_for(server, tmp_path)


def runner_for(registry: RegistryServer, tmp_path: Path) -> Runner:
    runs = iter(range(1000))

    def run(tasks: list[dict[str, Any]], check: bool = False,
            **variables: Any) -> PlaybookRun:
        values = {"harbor_url": registry.url, "harbor_username": "admin",
                  "harbor_password": registry.admin_password, **variables}
        return run_playbook(play(tasks), tmp_path / f"run{next(runs)}", values, check=check)

    return run


def run_batch(registry: RegistryServer, workdir: Path, sections: list[Section],
              parallel: bool = True) -> BatchOutcome:
    """The sections as one ``ansible-playbook`` run (side by side unless they depend on each
    other); which passed and why others failed."""
    plan = plan_batch(sections, workdir, parallel)
    values = {"harbor_url": registry.url, "harbor_username": "admin",
              "harbor_password": registry.admin_password}
    run = run_playbook(play(plan.tasks, strategy=plan.strategy), workdir, values,
                       timeout=900, hosts=tuple(plan.hosts), forks=plan.forks)
    return read_outcome(run, workdir)
