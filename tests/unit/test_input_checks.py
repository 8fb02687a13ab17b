"""Checks of URLs that urlsplit cannot read answer Invalid (a 400), never a 500."""

from __future__ import annotations

import pytest

from harbor_twisted.common import settings_schema
from harbor_twisted.core.configurations import check_value
from harbor_twisted.core.errors import Invalid
from harbor_twisted.replication.control import check_url


@pytest.mark.parametrize("url", ["http://[", "http://[::1", "https://[x]:80"])
def test_a_registry_url_with_a_broken_ipv6_host_is_invalid(url):
    with pytest.raises(Invalid, match="url must be"):
        check_url(url)


def test_an_ldap_url_with_a_broken_ipv6_host_is_invalid():
    with pytest.raises(Invalid, match="ldap_url must start"):
        check_value(settings_schema.BY_NAME["ldap_url"], "ldap://[")
    assert check_value(settings_schema.BY_NAME["ldap_url"], " ldaps://dir:636 ") == (
        "ldaps://dir:636")
