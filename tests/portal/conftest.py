"""Fixtures shared by the portal's tests."""

from __future__ import annotations

import pytest

from tests.portal.browser_session import PageClient


@pytest.fixture
def admin_pages(registry) -> PageClient:
    """The portal of the shared `registry`, signed in as admin through the login form."""
    pages = PageClient(registry.url)
    assert pages.sign_in("admin", registry.admin_password).status_code == 303
    return pages
