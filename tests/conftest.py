"""Shared fixtures: real harbor-twisted processes on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import PostgresCluster, start_cluster
from tests.support.server import RegistryServer, start_server

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    cluster = start_cluster()
    yield cluster
    cluster.stop()


def _database_url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return ""
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return cluster.create_database()


@pytest.fixture(scope="session", params=BACKENDS)
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    """A harbor-twisted all-in-one process shared by the session, once per database."""
    backend = request.param
    data_dir: Path = tmp_path_factory.mktemp(f"registry-{backend}")
    server = start_server(data_dir, _database_url(backend, request))
    yield server
    assert server.stop() == 0, server.log_text()[-4000:]


@pytest.fixture
def fresh_registry(tmp_path: Path) -> Iterator[RegistryServer]:
    """A private SQLite-backed process, for tests that restart or reconfigure it."""
    server = start_server(tmp_path / "data")
    yield server
    server.stop()


@pytest.fixture
def start_registry(tmp_path: Path) -> Iterator:
    """Start private processes with extra settings; all are stopped afterwards."""
    started: list[RegistryServer] = []

    def start(
        extra_env: dict[str, str] | None = None,
        data_dir: Path | None = None,
        database_url: str = "",
        command: str = "all-in-one",
    ) -> RegistryServer:
        server = start_server(
            data_dir or tmp_path / f"data{len(started)}", database_url, extra_env, command=command
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
