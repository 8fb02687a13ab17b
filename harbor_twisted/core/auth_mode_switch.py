"""Switching the authentication mode after installation (issue 14), nothing lost.

``db_auth → ldap_auth``: every database user whose name the directory knows (``ldap_uid``
under the configured base and filter) becomes that entry's user — the same id, so
memberships, robots and audit history stay — and loses its local password. Users the
directory does not know stay local (admin always does). Conflicts (several entries for a
name, two users for one entry, an entry already some other user's) refuse the whole switch.
``ldap_auth → db_auth`` is refused unless forced: directory users then need a password reset.

The directory is asked first (in a thread, or in the blocking CLI); the plan is then
recomputed inside the one transaction that makes every link, stores the mode and audits it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from harbor_twisted.common import settings_schema
from harbor_twisted.config import Config
from harbor_twisted.core.identity import ADMIN, DEFAULT_SETTINGS
from harbor_twisted.db import audit_store, auth_switch_store, settings_store, user_store
from harbor_twisted.db.engine import Database
from harbor_twisted.ldap import dn as dns
from harbor_twisted.ldap import settings as ldap_settings
from harbor_twisted.ldap.directory import Directory, DirectoryUser
from harbor_twisted.ldap.login import in_directory

DB_AUTH, LDAP_AUTH = "db_auth", "ldap_auth"
Answers = Mapping[str, "DirectoryUser | str"]  # name → entry, or why there is none


class SwitchRefused(Exception):
    """The switch cannot be made as asked (the message says why and what to do)."""


@dataclass(frozen=True)
class Link:
    user_id: int
    username: str  # as stored now
    directory_name: str  # the directory's spelling, which the user gets
    dn: str


@dataclass(frozen=True)
class SwitchPlan:
    current: str
    target: str
    linked: tuple[Link, ...] = ()
    kept_local: tuple[tuple[str, str], ...] = ()  # (name, why)
    conflicts: tuple[str, ...] = ()
    needs_reset: tuple[str, ...] = ()  # directory users made local by a forced switch back
    done: bool = field(default=False, compare=False)

    @property
    def changes_mode(self) -> bool:
        return self.current != self.target


def stored_mode(conn: Connection) -> str:
    return str(settings_store.get_setting(conn, "auth_mode") or DEFAULT_SETTINGS["auth_mode"])


def names_to_look_up(conn: Connection) -> list[str]:
    """The database users the directory is asked about (admin always stays local)."""
    return [row.username for row in auth_switch_store.users_of_source(conn, "db")
            if row.username != ADMIN]


def plan(conn: Connection, target: str, answers: Answers) -> SwitchPlan:
    """What switching to ``target`` would do now, given the directory's ``answers``."""
    current = stored_mode(conn)
    if target == current:
        return SwitchPlan(current, target)
    if target == DB_AUTH:
        needs_reset = tuple(r.username for r in auth_switch_store.users_of_source(conn, "ldap"))
        return SwitchPlan(current, target, needs_reset=needs_reset)
    return _plan_links(conn, current, target, answers)


def _plan_links(conn: Connection, current: str, target: str, answers: Answers) -> SwitchPlan:
    kept: list[tuple[str, str]] = []
    conflicts: list[str] = []
    candidates: list[Link] = []
    for row in auth_switch_store.users_of_source(conn, "db"):
        if row.username == ADMIN:
            kept.append((ADMIN, "admin always stays a database user"))
            continue
        answer = answers.get(row.username)
        if answer is None:
            conflicts.append(f"{row.username}: created while the directory was asked; "
                             "run the switch again")
        elif answer == "ambiguous_user":
            conflicts.append(f"{row.username}: several directory entries match the name")
        elif isinstance(answer, str):
            kept.append((row.username, "not in the directory"))
        else:
            candidates.append(Link(row.id, row.username, answer.username, answer.dn))
    by_entry: dict[str, list[Link]] = defaultdict(list)
    for link in candidates:
        by_entry[dns.key(link.dn)].append(link)
    owners = {dns.key(r.ldap_dn): r.username
              for r in auth_switch_store.users_of_source(conn, "ldap") if r.ldap_dn}
    linked: list[Link] = []
    for key, links in by_entry.items():
        names = ", ".join(link.username for link in links)
        if len(links) > 1:
            conflicts.append(f"{names}: these users all map to the entry {links[0].dn}; "
                             "delete or rename all but one")
        elif key in owners:
            conflicts.append(f"{names}: the entry {links[0].dn} is already the directory "
                             f"user {owners[key]}")
        elif _name_taken(conn, links[0]):
            conflicts.append(f"{names}: the directory spells the name "
                             f"{links[0].directory_name}, which another user holds")
        else:
            linked.append(links[0])
    return SwitchPlan(current, target, tuple(linked), tuple(kept), tuple(conflicts))


def _name_taken(conn: Connection, link: Link) -> bool:
    if link.directory_name == link.username:
        return False
    holder = user_store.get_user_by_name(conn, link.directory_name)
    return holder is not None and holder.id != link.user_id


def perform(conn: Connection, target: str, answers: Answers, actor: str, force: bool = False,
            client_ip: str = "") -> SwitchPlan:
    """Plan again and, unless refused, make every change in this one transaction."""
    found = plan(conn, target, answers)
    if not found.changes_mode:
        return found
    if found.conflicts:
        raise SwitchRefused("the switch to ldap_auth is refused until these conflicts are "
                            "resolved:\n  " + "\n  ".join(found.conflicts))
    if target == DB_AUTH and not force:
        raise SwitchRefused(reverse_refusal(found))
    for link in found.linked:
        auth_switch_store.link_to_directory(conn, link.user_id, link.directory_name, link.dn)
    if target == DB_AUTH:
        for row in auth_switch_store.users_of_source(conn, "ldap"):
            auth_switch_store.make_local(conn, row.id)
    settings_store.put_setting(conn, "auth_mode", target)
    detail: dict[str, Any] = {
        "from": found.current, "to": target,
        "linked": [{"user": link.username, "as": link.directory_name, "dn": link.dn}
                   for link in found.linked],
        "kept_local": [name for name, _ in found.kept_local],
        "made_local": list(found.needs_reset),
    }
    audit_store.write_audit(conn, [audit_store.AuditRecord(
        username=actor, operation="update", resource_type="configuration",
        resource="auth_mode", client_ip=client_ip, detail=detail)])
    return SwitchPlan(found.current, target, found.linked, found.kept_local, found.conflicts,
                      found.needs_reset, done=True)


def reverse_refusal(found: SwitchPlan) -> str:
    return (f"switching from ldap_auth back to db_auth is refused: the "
            f"{len(found.needs_reset)} directory user(s) would have no password and could "
            "not log in until an administrator resets it; repeat with --force (the API: "
            "force=true) to do it anyway")


def describe(found: SwitchPlan, *, dry_run: bool, force: bool = False) -> str:
    """The plan or its outcome, for people: linked, kept local, conflicts, resets needed."""
    if not found.changes_mode:
        return f"auth_mode is already {found.target}; nothing to do"
    lines = [f"auth_mode {found.current} → {found.target}"
             + (" (dry run: nothing changed)" if dry_run else "")]
    lines.append(f"linked to the directory ({len(found.linked)}):")
    lines += [f"  {link.username} → {link.dn}"
              + ("" if link.directory_name == link.username
                 else f" (renamed {link.directory_name})") for link in found.linked]
    lines.append(f"kept local ({len(found.kept_local)}):")
    lines += [f"  {name}: {why}" for name, why in found.kept_local]
    lines.append(f"conflicts ({len(found.conflicts)}):")
    lines += [f"  {conflict}" for conflict in found.conflicts]
    if found.target == DB_AUTH:
        lines.append(f"need a password reset ({len(found.needs_reset)}; "
                     "harbor-twisted admin reset-password --username NAME):")
        lines += [f"  {name}" for name in found.needs_reset]
    if found.done:
        lines.append(f"done: auth_mode is now {found.target}; running services follow "
                     "within settings_refresh_seconds")
    elif found.conflicts:
        lines.append("refused: resolve the conflicts, then run the switch again")
    return "\n".join(lines)


# -- asking the directory -------------------------------------------------------------------


def _look_up(directory: Directory, names: list[str]) -> dict[str, DirectoryUser | str]:
    return directory.import_users(names) if names else {}


def effective_settings(conn: Connection, config: Config) -> dict[str, Any]:
    """Stored settings with the configuration file's on top (they win at every start)."""
    configured = {s.name: getattr(config, s.name, None) for s in settings_schema.SETTINGS
                  if not s.secret and s.name != "auth_mode"}
    return {**DEFAULT_SETTINGS, **settings_store.all_settings(conn),
            **{name: value for name, value in configured.items() if value is not None}}


def switch_blocking(db: Database, config: Config, target: str, *, dry_run: bool,
                    force: bool = False, actor: str = "cli") -> SwitchPlan:
    """The command line's switch (no reactor: the directory is asked in this thread).

    Raises SwitchRefused, or the directory's errors (DirectoryError, DirectoryUnavailable,
    LdapConfigError)."""
    current, names, settings = db.run_sync(_prepare, config)
    answers: dict[str, DirectoryUser | str] = {}
    if target == LDAP_AUTH and current != LDAP_AUTH:
        directory = Directory(ldap_settings.load(settings, config))
        answers = _look_up(directory, names)
    if dry_run:
        return db.run_sync(plan, target, answers)
    return db.run_sync(perform, target, answers, actor, force)


async def switch(db: Database, settings: dict[str, Any], config: Config, target: str, *,
                 dry_run: bool, actor: str, force: bool = False,
                 client_ip: str = "") -> SwitchPlan:
    """The same switch from the reactor: the directory is asked in a thread."""
    current, names = await db.run(lambda conn: (stored_mode(conn), names_to_look_up(conn)))
    answers: dict[str, DirectoryUser | str] = {}
    if target == LDAP_AUTH and current != LDAP_AUTH:
        answers = await in_directory(settings, config, lambda d: _look_up(d, names))
    if dry_run:
        return await db.run(plan, target, answers)
    return await db.run(perform, target, answers, actor, force, client_ip)


def _prepare(conn: Connection, config: Config) -> tuple[str, list[str], dict[str, Any]]:
    return stored_mode(conn), names_to_look_up(conn), effective_settings(conn, config)
