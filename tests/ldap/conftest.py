"""A private slapd with the example directory, and harbor-twisted processes using it."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.rest.conftest import Client
from tests.support import ldap_directory as directory
from tests.support.ldap_directory import Person
from tests.support.server import RegistryServer, start_server
from tests.support.slapd import Slapd


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    with directory.example_directory(tmp_path_factory.mktemp("slapd")) as server:
        yield server


def ldap_environment(slapd: Slapd, data_dir: Path, **overrides: str) -> dict[str, str]:
    """HT_* settings for LDAP against ``slapd``; the search password goes where the
    service looks for it by default, ``<data>/secrets/ldap_search_password``."""
    directory.write_search_password(data_dir / "secrets" / "ldap_search_password")
    return directory.ldap_settings(slapd, **overrides)


@pytest.fixture(scope="session")
def ldap_registry(slapd: Slapd, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[RegistryServer]:
    """One SQLite-backed process in ldap_auth mode, shared by the LDAP tests."""
    data_dir = tmp_path_factory.mktemp("ldap-registry")
    server = start_server(data_dir, "", ldap_environment(slapd, data_dir))
    yield server
    assert server.stop() == 0, server.log_text()[-4000:]


@pytest.fixture
def start_ldap_registry(start_registry, slapd: Slapd, tmp_path: Path
                        ) -> Callable[..., RegistryServer]:
    """Start a private process in ldap_auth mode with extra HT_* overrides."""
    count = 0

    def start(database_url: str = "", **overrides: str) -> RegistryServer:
        nonlocal count
        count += 1
        data_dir = tmp_path / f"ldap-data{count}"
        return start_registry(ldap_environment(slapd, data_dir, **overrides), data_dir,
                              database_url)

    return start


@pytest.fixture(scope="session")
def admin(ldap_registry: RegistryServer) -> Client:
    return Client(ldap_registry.url, ("admin", ldap_registry.admin_password))


def as_person(server: RegistryServer, person: Person) -> Client:
    return Client(server.url, (person.uid, person.password))


def token_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def token_actions(server: RegistryServer, credentials: tuple[str, str], repository: str
                  ) -> tuple[int, list[str]]:
    """The status of a token request for pull,push on ``repository`` and the actions granted."""
    response = requests.get(f"{server.url}/service/token", auth=credentials, timeout=30,
                            params={"service": "harbor-registry",
                                    "scope": f"repository:{repository}:pull,push"})
    if response.status_code != 200:
        return response.status_code, []
    access = token_claims(response.json()["token"])["access"]
    return 200, sorted(a for entry in access for a in entry["actions"])


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung directory)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again once this returns
