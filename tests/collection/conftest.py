"""Fixtures for the collection's tests: a playbook runner bound to a test server."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.collection.ansible_runner import PlaybookRun, play, run_playbook
from tests.support.server import RegistryServer, start_server

Runner = Callable[..., PlaybookRun]


@pytest.fixture
def suffix() -> str:
    """A name tail that keeps objects of one test apart from the session's others."""
    return secrets.token_hex(3)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """One SQLite-backed server for a test module (the module lifecycles run on it; the
    whole-registry playbook runs on both databases through the ``registry`` fixture)."""
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
