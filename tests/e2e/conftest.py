"""How the real clients reach the registry under test (the `registry` fixture is in tests/)."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.access import Credentials


@pytest.fixture(scope="module")
def credentials(registry) -> Credentials:
    """Clients log in as the admin, as an operator would after `make run`."""
    return Credentials("admin", registry.admin_password)


@pytest.fixture(scope="module")
def registry_http(registry) -> requests.Session:
    """A requests session allowed to read everything in the registry."""
    return registry.session
