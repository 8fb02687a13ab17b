"""The directory logic against a real slapd, in-process: who may log in, which groups they
have, TLS, and how fast an unreachable directory fails."""

from __future__ import annotations

import dataclasses
import time

import pytest

from harbor_twisted.ldap import dn as dns
from harbor_twisted.ldap.client import DirectoryError, DirectoryUnavailable, connect
from harbor_twisted.ldap.directory import Directory, Login, Refused
from harbor_twisted.ldap.settings import LdapConfigError, LdapSettings, from_settings
from tests.support import ldap_directory as example
from tests.support.slapd import Slapd

TIMEOUT = 2
MARGIN = 1.5  # seconds allowed beyond the timeout for a refused or silent directory


@pytest.fixture(scope="module")
def settings(slapd: Slapd) -> LdapSettings:
    return LdapSettings(
        url=slapd.url, search_dn=example.READER_DN, search_password=example.READER_PASSWORD,
        base_dn=example.BASE, filter="objectClass=inetOrgPerson", uid="uid",
        timeout=TIMEOUT, group_base_dn=example.GROUPS,
        group_search_filter="(objectClass=groupOfNames)", group_admin_dn=example.ADMINS,
    ).check()


def login(settings: LdapSettings, person: example.Person, password: str | None = None,
          **changes: object) -> Login | Refused:
    changed = dataclasses.replace(settings, **changes)
    return Directory(changed).login(person.uid, person.password if password is None
                                    else password)


def group_names(outcome: Login | Refused) -> set[str]:
    assert isinstance(outcome, Login), outcome
    return {group.name for group in outcome.groups}


def test_a_user_logs_in_with_profile_and_groups(settings):
    outcome = login(settings, example.ALICE)
    assert isinstance(outcome, Login)
    assert outcome.user.dn == example.ALICE.dn
    assert (outcome.user.username, outcome.user.email, outcome.user.realname) == (
        "alice", "alice@example.org", "Alice L.")  # displayName wins over cn
    assert group_names(outcome) == {"developers"}
    assert not outcome.admin


def test_the_name_is_matched_as_the_directory_spells_it(settings):
    outcome = Directory(settings).login("ALICE", example.ALICE.password)
    assert isinstance(outcome, Login) and outcome.user.username == "alice"


def test_a_user_without_mail_or_display_name(settings):
    outcome = login(settings, example.ERIN)
    assert isinstance(outcome, Login)
    assert (outcome.user.email, outcome.user.realname) == (None, "Erin Plain")
    assert outcome.groups == ()


def test_wrong_and_empty_passwords_are_refused(settings):
    assert isinstance(login(settings, example.ALICE, "not-the-password"), Refused)
    assert isinstance(login(settings, example.ALICE, ""), Refused)


def test_an_empty_password_is_never_sent_as_a_bind(settings):
    """The anonymous-bind trap: DN plus empty password would be an unauthenticated bind
    that slapd answers with success."""
    with connect(settings) as conn:
        assert conn.bind(example.ALICE.dn, "") is False
        assert conn.bind(example.ALICE.dn, example.ALICE.password) is True


@pytest.mark.parametrize("name", ["*", "alice)(uid=*", "*)(|(objectClass=*)", "al*",
                                  "alice\x00", "(uid=alice)", "\\2a"])
def test_filter_injection_in_the_name_matches_nothing(settings, name):
    outcome = Directory(settings).login(name, example.ALICE.password)
    assert isinstance(outcome, Refused)
    assert "no entry matches" in outcome.reason


def test_two_matching_entries_are_refused(settings):
    outcome = login(settings, example.DUP)
    assert isinstance(outcome, Refused) and "several entries" in outcome.reason


def test_unknown_user(settings):
    outcome = Directory(settings).login("nobody", "whatever")
    assert isinstance(outcome, Refused)


def test_nested_groups_are_followed_upwards(settings):
    assert group_names(login(settings, example.CAROL)) == {"inner", "outer"}
    assert group_names(login(settings, example.CAROL, nested_groups=False)) == {"inner"}


def test_nesting_by_member_search_alone_and_by_member_of_alone(settings):
    by_search = login(settings, example.CAROL, group_membership_attribute="")
    by_member_of = login(settings, example.CAROL, group_base_dn="")
    assert group_names(by_search) == group_names(by_member_of) == {"inner", "outer"}


def test_group_cycles_end(settings):
    assert group_names(login(settings, example.BOB)) == {"developers", "cycle-a", "cycle-b"}


def test_admin_group_directly_and_nested(settings):
    assert login(settings, example.DAVE).admin  # type: ignore[union-attr]
    nested = login(settings, example.CAROL, group_admin_dn=example.OUTER.upper())
    assert isinstance(nested, Login) and nested.admin


def test_groups_outside_the_group_base_are_not_onboarded(settings):
    outcome = login(settings, example.CAROL, group_base_dn=f"ou=nowhere,{example.BASE}")
    assert isinstance(outcome, Login) and outcome.groups == ()


def test_dn_comparison_ignores_case_and_spaces():
    assert dns.key("CN=Outer, OU=groups,dc=Example,dc=org") == dns.key(example.OUTER)
    assert dns.is_under(example.OUTER, "DC=example, dc=org")
    assert not dns.is_under(example.OUTER, "dc=other,dc=org")


def test_search_account_with_a_wrong_password_is_a_clear_error(settings):
    broken = dataclasses.replace(settings, search_password="wrong")
    with pytest.raises(DirectoryError, match="refused the search account"):
        Directory(broken).login("alice", example.ALICE.password)


def test_settings_are_checked_and_the_password_is_never_in_repr(settings):
    assert example.READER_PASSWORD not in repr(settings)
    with pytest.raises(LdapConfigError, match="ldap_url"):
        from_settings({"ldap_url": "http://x", "ldap_base_dn": "dc=x"}, "").check()
    with pytest.raises(LdapConfigError, match="ldap_uid"):
        from_settings({"ldap_url": "ldap://x", "ldap_base_dn": "dc=x", "ldap_uid": "u)("},
                      "").check()


def test_ldaps_with_the_ca_file(settings, slapd):
    outcome = login(settings, example.ALICE, url=slapd.ldaps_url, ca_file=str(slapd.tls.ca_file))
    assert isinstance(outcome, Login)


def test_starttls_with_the_ca_file(settings, slapd):
    outcome = login(settings, example.ALICE, starttls=True, ca_file=str(slapd.tls.ca_file))
    assert isinstance(outcome, Login)


def test_ldaps_without_the_ca_is_refused_unless_verification_is_off(settings, slapd):
    with pytest.raises(DirectoryUnavailable, match="TLS"):
        login(settings, example.ALICE, url=slapd.ldaps_url)
    with pytest.raises(DirectoryUnavailable):
        login(settings, example.ALICE, starttls=True)
    assert isinstance(login(settings, example.ALICE, url=slapd.ldaps_url, verify_cert=False),
                      Login)


@pytest.mark.parametrize("scheme,starttls", [("ldap", False), ("ldaps", False), ("ldap", True)])
def test_a_silent_directory_fails_within_the_timeout(settings, blackhole, scheme, starttls):
    started = time.monotonic()
    with pytest.raises(DirectoryUnavailable, match="within 2 s"):
        login(settings, example.ALICE, url=f"{scheme}://127.0.0.1:{blackhole}",
              starttls=starttls)
    assert TIMEOUT - 0.5 <= time.monotonic() - started <= TIMEOUT + MARGIN


def test_a_closed_port_fails_at_once(settings, closed_port):
    started = time.monotonic()
    with pytest.raises(DirectoryUnavailable, match="cannot reach"):
        login(settings, example.ALICE, url=f"ldap://127.0.0.1:{closed_port}")
    assert time.monotonic() - started < 1
