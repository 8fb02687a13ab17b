"""Finding users and their groups in the directory: Harbor's rules, and nested groups.

A login binds as the search account (anonymous when none is set), finds exactly one entry
under ``ldap_base_dn`` matching ``(&<ldap_filter>(<ldap_uid>=<escaped name>))``, binds as
that entry with the password, then collects the user's groups from both places a
directory keeps them — the user's membership attribute (``memberOf``) and groups under
``ldap_group_base_dn`` whose member attribute names the user — following nesting upwards
(bounded depth, cycle-safe) when ``ldap_nested_groups`` is on. Blocking: run in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import ldap
from ldap.filter import escape_filter_chars

from harbor_twisted.ldap import dn as dns
from harbor_twisted.ldap.client import Connection, DirectoryError, Entry, connect
from harbor_twisted.ldap.settings import LdapSettings

MAX_NESTING = 10  # levels of groups-in-groups followed upwards
MAX_GROUPS = 1000  # groups collected for one user at most
SEARCH_LIMIT = 500  # entries answered by the search endpoints at most
_BATCH = 50  # group DNs asked about in one member search
_EMAIL_ATTRIBUTES = ("mail", "email")
_NAME_ATTRIBUTES = ("displayName", "cn")


@dataclass(frozen=True)
class DirectoryUser:
    dn: str
    username: str
    email: str | None
    realname: str


@dataclass(frozen=True)
class DirectoryGroup:
    dn: str
    name: str


@dataclass(frozen=True)
class Login:
    user: DirectoryUser
    groups: tuple[DirectoryGroup, ...]  # to onboard: under ldap_group_base_dn when set
    admin: bool  # a member of ldap_group_admin_dn, directly or nested


@dataclass(frozen=True)
class Refused:
    """No login, and why (for the log; clients only ever hear "invalid credentials")."""

    reason: str


def clause(text: str) -> str:
    """A filter from settings as one parenthesised clause (Harbor accepts both forms)."""
    text = text.strip()
    if not text:
        return ""
    return text if text.startswith("(") else f"({text})"


def _and(*clauses: str) -> str:
    present = [c for c in clauses if c]
    return present[0] if len(present) == 1 else "(&" + "".join(present) + ")"


class Directory:
    def __init__(self, settings: LdapSettings) -> None:
        self.settings = settings

    # -- filters ------------------------------------------------------------------------

    def user_filter(self, username: str | None) -> str:
        """Users named ``username`` (escaped), or every user for None."""
        value = "*" if username is None else escape_filter_chars(username)
        return _and(clause(self.settings.filter), f"({self.settings.uid}={value})")

    def group_filter(self, extra: str) -> str:
        return _and(clause(self.settings.group_search_filter), extra)

    def user_attributes(self) -> list[str]:
        wanted = [self.settings.uid, *_EMAIL_ATTRIBUTES, *_NAME_ATTRIBUTES]
        if self.settings.group_membership_attribute:
            wanted.append(self.settings.group_membership_attribute)
        return wanted

    def group_attributes(self) -> list[str]:
        wanted = [self.settings.group_attribute_name]
        if self.settings.group_membership_attribute:
            wanted.append(self.settings.group_membership_attribute)
        return wanted

    # -- binding and finding ------------------------------------------------------------

    def bind_search_account(self, conn: Connection) -> None:
        settings = self.settings
        if settings.search_dn and not settings.search_password:
            raise DirectoryError("ldap_search_dn is set but no ldap_search_password is stored")
        if not conn.bind(settings.search_dn, settings.search_password):
            raise DirectoryError(f"{settings.url} refused the search account "
                                 f"{settings.search_dn or '(anonymous)'}: invalid credentials")

    def find(self, conn: Connection, username: str | None, limit: int = 2) -> list[Entry]:
        found, _ = conn.search(self.settings.base_dn, self.settings.scope,
                               self.user_filter(username), self.user_attributes(), limit)
        return found

    def user_of(self, entry: Entry, typed: str) -> DirectoryUser:
        """The user as onboarded: the directory's spelling of the name, mail, a real name."""
        names = entry.values(self.settings.uid)
        username = next((n for n in names if n.lower() == typed.lower()), typed)
        email = next((v for a in _EMAIL_ATTRIBUTES if (v := entry.first(a))), None)
        realname = next((v for a in _NAME_ATTRIBUTES if (v := entry.first(a))), username)
        return DirectoryUser(entry.dn, username, email, realname)

    def _single(self, conn: Connection, username: str) -> Entry | Refused:
        found = self.find(conn, username)
        if not found:
            return Refused(f"no entry matches {username!r}")
        if len(found) > 1:
            return Refused(f"several entries match {username!r}; refusing to guess")
        return found[0]

    # -- logins -------------------------------------------------------------------------

    def login(self, username: str, password: str) -> Login | Refused:
        """Check a name and password against the directory."""
        if not username or not password:
            return Refused("an empty name or password is never sent to the directory")
        with connect(self.settings) as conn:
            self.bind_search_account(conn)
            entry = self._single(conn, username)
            if isinstance(entry, Refused):
                return entry
            if not conn.bind(entry.dn, password):
                return Refused(f"wrong password for {entry.dn}")
            self.bind_search_account(conn)  # groups are read as the search account
            return self._login(conn, entry, username)

    def lookup(self, username: str) -> Login | Refused:
        """The user's current entry and groups, without a password (refresh tokens)."""
        with connect(self.settings) as conn:
            self.bind_search_account(conn)
            entry = self._single(conn, username)
            if isinstance(entry, Refused):
                return entry
            return self._login(conn, entry, username)

    def _login(self, conn: Connection, entry: Entry, typed: str) -> Login:
        user = self.user_of(entry, typed)
        groups = Groups(self, conn).of(entry, user.username)
        admin_dn = self.settings.group_admin_dn
        admin = bool(admin_dn) and any(dns.key(g.dn) == dns.key(admin_dn) for g in groups)
        base = self.settings.group_base_dn
        onboard = tuple(g for g in groups if not base or dns.is_under(g.dn, base))
        return Login(user, onboard, admin)

    # -- the /ldap API ------------------------------------------------------------------

    def ping(self) -> str:
        with connect(self.settings) as conn:
            self.bind_search_account(conn)
            if conn.read(self.settings.base_dn, ["objectClass"]) is None:
                raise DirectoryError(f"ldap_base_dn {self.settings.base_dn} does not exist "
                                     "or the search account cannot read it")
        who = self.settings.search_dn or "anonymously"
        return f"connected to {self.settings.url} and bound {who}"

    def search_users(self, username: str | None) -> list[DirectoryUser]:
        """Users named exactly ``username`` (every user for None), at most SEARCH_LIMIT."""
        with connect(self.settings) as conn:
            self.bind_search_account(conn)
            found = self.find(conn, username or None, SEARCH_LIMIT)
        users = [self.user_of(e, username or (e.first(self.settings.uid) or "")) for e in found]
        return [u for u in users if u.username]

    def import_users(self, uids: list[str]) -> dict[str, DirectoryUser | str]:
        """Each uid's user, or Harbor's failure reason (unknown_user, …)."""
        answers: dict[str, DirectoryUser | str] = {}
        with connect(self.settings) as conn:
            self.bind_search_account(conn)
            for uid in uids:
                if not uid:
                    answers[uid] = "empty_uid"
                    continue
                found = self.find(conn, uid)
                if not found:
                    answers[uid] = "unknown_user"
                elif len(found) > 1:
                    answers[uid] = "ambiguous_user"
                else:
                    answers[uid] = self.user_of(found[0], uid)
        return answers

    def search_groups(self, name: str | None, group_dn: str | None) -> list[DirectoryGroup]:
        """Groups by name (``ldap_group_attribute_name``) or by DN."""
        settings = self.settings
        attribute = settings.group_attribute_name
        with connect(settings) as conn:
            self.bind_search_account(conn)
            if name:
                base = settings.group_base_dn or settings.base_dn
                query = self.group_filter(f"({attribute}={escape_filter_chars(name)})")
                found, _ = conn.search(base, settings.group_search_scope, query,
                                       [attribute], SEARCH_LIMIT)
            elif group_dn:
                found, _ = conn.search(group_dn, ldap.SCOPE_BASE,
                                       self.group_filter("(objectClass=*)"), [attribute], 1)
            else:
                found = []
        return [DirectoryGroup(dns.canonical(e.dn), e.first(attribute) or dns.first_value(e.dn))
                for e in found]


class Groups:
    """The groups one user belongs to, directly and (when enabled) through nesting."""

    def __init__(self, directory: Directory, conn: Connection) -> None:
        self.directory = directory
        self.settings = directory.settings
        self.conn = conn
        self.found: dict[str, DirectoryGroup] = {}
        self.parents: dict[str, list[str]] = {}  # group key -> its membership attribute

    def of(self, user: Entry, username: str) -> tuple[DirectoryGroup, ...]:
        settings = self.settings
        membership = settings.group_membership_attribute
        level = self._note_dns(user.values(membership) if membership else [])
        member_value = username if settings.group_member_attribute.lower() == "memberuid" \
            else user.dn
        level |= self._containing([member_value])
        depth = 0
        while settings.nested_groups and level and depth < MAX_NESTING:
            if len(self.found) >= MAX_GROUPS:
                break
            level = self._parents_of(level)
            depth += 1
        return tuple(self.found.values())

    def _note(self, group_dn: str, name: str | None = None) -> str | None:
        """Record a group; its key when it is new."""
        key = dns.key(group_dn)
        known = self.found.get(key)
        if known is not None:
            if name and known.name == dns.first_value(known.dn):
                self.found[key] = DirectoryGroup(known.dn, name)
            return None
        self.found[key] = DirectoryGroup(dns.canonical(group_dn), name or dns.first_value(group_dn))
        return key

    def _note_dns(self, group_dns: list[str]) -> set[str]:
        return {key for value in group_dns if dns.is_valid(value) and (key := self._note(value))}

    def _note_entry(self, entry: Entry) -> str | None:
        key = self._note(entry.dn, entry.first(self.settings.group_attribute_name))
        membership = self.settings.group_membership_attribute
        if membership:
            self.parents[dns.key(entry.dn)] = entry.values(membership)
        return key

    def _containing(self, values: list[str]) -> set[str]:
        """Groups under ldap_group_base_dn whose member attribute holds one of ``values``."""
        settings = self.settings
        if not settings.group_base_dn or not settings.group_member_attribute or not values:
            return set()
        attribute = settings.group_member_attribute
        new: set[str] = set()
        for start in range(0, len(values), _BATCH):
            chunk = values[start:start + _BATCH]
            either = "".join(f"({attribute}={escape_filter_chars(v)})" for v in chunk)
            query = self.directory.group_filter(either if len(chunk) == 1 else f"(|{either})")
            found, _ = self.conn.search(settings.group_base_dn, settings.group_search_scope,
                                        query, self.directory.group_attributes(), MAX_GROUPS)
            new |= {key for entry in found if (key := self._note_entry(entry))}
        return new

    def _parents_of(self, level: set[str]) -> set[str]:
        """Groups holding any group of ``level``: by member search, and by each group's own
        membership attribute (read from the group entry when not already known)."""
        new = self._containing([self.found[key].dn for key in sorted(level)])
        membership = self.settings.group_membership_attribute
        if not membership:
            return new
        for key in sorted(level):
            if key not in self.parents and not self.settings.group_base_dn:
                entry = self.conn.read(self.found[key].dn, self.directory.group_attributes())
                if entry is not None:
                    self._note_entry(entry)
            new |= self._note_dns(self.parents.get(key, []))
        return new
