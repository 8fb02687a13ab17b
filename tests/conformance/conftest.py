"""Fixtures shared by the conformance modules (the `registry` fixture comes from tests/)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ._client import OciClient


@pytest.fixture(scope="module")
def oci(registry: Any) -> Iterator[OciClient]:
    """A client for the registry under test, one HTTP session per test module."""
    client = OciClient(registry.url, registry.auth)
    yield client
    client.close()
