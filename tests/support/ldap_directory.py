"""The example directory the LDAP tests log in against, seeded into a private slapd.

dc=example,dc=org
  ou=services   cn=reader (the read-only search account)
  ou=people     alice (developers), bob (developers, cycle-a), carol (inner), dave
                (harbor-admins), erin (no group, no mail), dup (also in ou=contractors)
  ou=contractors  dup (a second entry with the same uid: logins as dup are ambiguous)
  ou=groups     developers, inner, outer (member: inner), harbor-admins,
                cycle-a <-> cycle-b (members of each other)
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import ldap
import pytest

from tests.support.slapd import Slapd, slapd_problem, ssha, start_slapd

BASE = "dc=example,dc=org"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
READER_DN = f"cn=reader,ou=services,{BASE}"
READER_PASSWORD = "reader-" + secrets.token_hex(6)


@dataclass(frozen=True)
class Person:
    uid: str
    password: str
    cn: str
    mail: str | None = None
    display_name: str | None = None
    ou: str = "people"

    @property
    def dn(self) -> str:
        return f"uid={self.uid},ou={self.ou},{BASE}"


def _password(name: str) -> str:
    return f"{name.title()}-Pw-{secrets.token_hex(4)}"


ALICE = Person("alice", _password("alice"), "Alice Liddell", "alice@example.org", "Alice L.")
BOB = Person("bob", _password("bob"), "Bob Builder", "bob@example.org")
CAROL = Person("carol", _password("carol"), "Carol Nested", "carol@example.org")
DAVE = Person("dave", _password("dave"), "Dave Admin", "dave@example.org")
ERIN = Person("erin", _password("erin"), "Erin Plain")
DUP = Person("dup", _password("dup"), "Dup One", "dup1@example.org")
DUP_CONTRACTOR = Person("dup", _password("dup"), "Dup Two", "dup2@example.org",
                        ou="contractors")
PEOPLE_ENTRIES = (ALICE, BOB, CAROL, DAVE, ERIN, DUP, DUP_CONTRACTOR)


def group_dn(name: str) -> str:
    return f"cn={name},{GROUPS}"


DEVELOPERS = group_dn("developers")
INNER = group_dn("inner")
OUTER = group_dn("outer")
ADMINS = group_dn("harbor-admins")
CYCLE_A = group_dn("cycle-a")
CYCLE_B = group_dn("cycle-b")

# (group, members): order matters, a group must exist before another names it
GROUP_ENTRIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (DEVELOPERS, (ALICE.dn, BOB.dn)),
    (INNER, (CAROL.dn,)),
    (OUTER, (INNER,)),
    (ADMINS, (DAVE.dn,)),
    (CYCLE_A, (BOB.dn,)),
    (CYCLE_B, (CYCLE_A,)),
)


def person_entry(person: Person) -> tuple[str, dict[str, list[str]]]:
    attributes = {
        "objectClass": ["inetOrgPerson"],
        "uid": [person.uid],
        "cn": [person.cn],
        "sn": [person.cn.split()[-1]],
        "userPassword": [ssha(person.password)],
    }
    if person.mail:
        attributes["mail"] = [person.mail]
    if person.display_name:
        attributes["displayName"] = [person.display_name]
    return person.dn, attributes


def _entries() -> list[tuple[str, dict[str, list[str]]]]:
    entries: list[tuple[str, dict[str, list[str]]]] = [
        (BASE, {"objectClass": ["dcObject", "organization"], "dc": ["example"],
                "o": ["Example"]}),
    ]
    for ou in ("services", "people", "contractors", "groups"):
        entries.append((f"ou={ou},{BASE}", {"objectClass": ["organizationalUnit"], "ou": [ou]}))
    entries.append((READER_DN, {
        "objectClass": ["organizationalRole", "simpleSecurityObject"], "cn": ["reader"],
        "userPassword": [ssha(READER_PASSWORD)]}))
    entries.extend(person_entry(person) for person in PEOPLE_ENTRIES)
    for dn, members in GROUP_ENTRIES:
        name = dn.split(",", 1)[0].split("=", 1)[1]
        entries.append((dn, {"objectClass": ["groupOfNames"], "cn": [name],
                             "member": list(members)}))
    return entries


def start_example_directory(directory: Path) -> Slapd:
    """A running slapd holding the example directory."""
    server = start_slapd(directory, BASE)
    try:
        server.add(_entries())
        conn = server.manager()
        try:  # close the cycle: cycle-a also holds cycle-b
            conn.modify_s(CYCLE_A, [(ldap.MOD_ADD, "member", [CYCLE_B.encode()])])
        finally:
            conn.unbind_s()
    except Exception:
        server.stop()
        raise
    return server


@contextmanager
def example_directory(directory: Path) -> Iterator[Slapd]:
    """The example directory for a test or fixture: fails the test (never skips it) when
    slapd cannot run here, and stops slapd afterwards."""
    problem = slapd_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    server = start_example_directory(directory)
    try:
        yield server
    finally:
        server.stop()


def ldap_settings(server: Slapd, **overrides: str) -> dict[str, str]:
    """``HT_*`` variables that point a harbor-twisted process at ``server``."""
    settings = {
        "HT_AUTH_MODE": "ldap_auth",
        "HT_LDAP_URL": server.url,
        "HT_LDAP_SEARCH_DN": READER_DN,
        "HT_LDAP_BASE_DN": BASE,
        "HT_LDAP_FILTER": "(objectClass=inetOrgPerson)",
        "HT_LDAP_UID": "uid",
        "HT_LDAP_SCOPE": "2",
        "HT_LDAP_TIMEOUT": "3",
        "HT_LDAP_GROUP_BASE_DN": GROUPS,
        "HT_LDAP_GROUP_SEARCH_FILTER": "(objectClass=groupOfNames)",
        "HT_LDAP_GROUP_ADMIN_DN": ADMINS,
        "HT_LDAP_NESTED_GROUPS": "true",
    }
    settings.update(overrides)
    return settings


def write_search_password(secrets_file: Path, password: str = READER_PASSWORD) -> Path:
    """The search password as an operator leaves it: a 0600 file."""
    secrets_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    secrets_file.write_text(password + "\n")
    secrets_file.chmod(0o600)
    return secrets_file
