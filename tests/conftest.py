"""Shared fixtures: real harbor-twisted processes on SQLite and on PostgreSQL, and (for the
suites in S3_SUITES) on SQLite with blobs in a real Ceph RADOS Gateway."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ceph_rgw import (
    S3Account,
    create_account,
    remove_account,
    start_gateway,
    stop_gateway,
)
from tests.support.postgres import PostgresCluster, start_cluster
from tests.support.server import RegistryServer, start_server

# The appliance's tests build an OVA (~18 min) and boot it under QEMU; /dev/kvm here is PVM,
# not hardware KVM, so they run under TCG for well over the 15 minutes make test allows
# (docs/appliance.md). `make test-appliance` runs them; make test does not collect them.
collect_ignore = [] if os.environ.get("HT_APPLIANCE_TESTS") == "1" else ["appliance"]

BACKENDS = ["sqlite", "postgresql"]
S3_BACKEND = "sqlite-s3"
# The suites that also run with the S3 driver (the storage protocol's users); the rest of
# the suite does not depend on the driver, so it runs on the filesystem only.
S3_SUITES = (
    "tests/conformance/",
    "tests/api/test_storage.py",
    "tests/api/test_storage_s3.py",
    "tests/e2e/test_docker_client.py",  # docker push and pull through S3
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the S3 variant of `registry` only in the suites that exercise storage, and not
    for tests that read the filesystem driver's own files (marked `filesystem_layout`)."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_s3 = callspec is not None and callspec.params.get("registry") == S3_BACKEND
        path = item.nodeid.split("::", 1)[0]
        in_s3_suite = any(path.startswith(suite) for suite in S3_SUITES)
        if on_s3 and (not in_s3_suite or item.get_closest_marker("filesystem_layout")):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


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


@pytest.fixture(scope="session")
def s3_account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Account]:
    """An S3 user of its own (keys made for this session, 0600) on the one-host Ceph RGW,
    which is started if it is not running, and then stopped at the end."""
    started = start_gateway()
    account = create_account(tmp_path_factory.mktemp("s3-secrets"))
    yield account
    remove_account(account)
    if started:
        stop_gateway()


@pytest.fixture(scope="session", params=[*BACKENDS, S3_BACKEND])
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    """A harbor-twisted all-in-one process shared by the session, once per database (and,
    in S3_SUITES, once with its blobs in S3)."""
    backend = request.param
    data_dir: Path = tmp_path_factory.mktemp(f"registry-{backend}")
    extra_env = None
    if backend == S3_BACKEND:
        account: S3Account = request.getfixturevalue("s3_account")
        extra_env = account.env(s3_prefix="shared")
        backend = "sqlite"
    server = start_server(data_dir, _database_url(backend, request), extra_env)
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
        tls_ca: Path | None = None,
    ) -> RegistryServer:
        server = start_server(
            data_dir or tmp_path / f"data{len(started)}", database_url, extra_env, command=command,
            tls_ca=tls_ca,
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
