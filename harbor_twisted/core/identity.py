"""Users, system settings and project access: what the token service and the API ask.

All database work goes through ``Database.run``; password hashing (argon2, deliberately slow)
runs in the same thread as the lookup, never on the reactor.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection
from twisted.logger import Logger

from harbor_twisted.auth import passwords
from harbor_twisted.common import settings_schema
from harbor_twisted.config import Config
from harbor_twisted.core.errors import DirectoryUnreachable
from harbor_twisted.core.rbac import Principal, Role, principal_for
from harbor_twisted.db import (
    audit_store,
    member_store,
    project_store,
    quota_store,
    settings_store,
    user_store,
)
from harbor_twisted.db.engine import Database
from harbor_twisted.db.project_store import ProjectRow
from harbor_twisted.db.user_store import UserRow

log = Logger(namespace="harbor_twisted.identity")

ADMIN = "admin"
DEV_ADMIN_PASSWORD = "Harbor12345"
ADMIN_PASSWORD_ENV = "HT_ADMIN_PASSWORD"
DEV_SOURCE = "the development default"

DEFAULT_SETTINGS: dict[str, Any] = dict(settings_schema.DEFAULTS)


class BootstrapError(RuntimeError):
    """The service cannot start as configured (the message says what to set)."""


class Authenticator(Protocol):
    async def authenticate(self, username: str, password: str) -> Principal | None:
        """The principal for valid credentials; None otherwise."""


class DirectoryAuthenticator(Authenticator, Protocol):
    async def principal_for(self, row: UserRow) -> Principal | None:
        """The principal of an onboarded user, read afresh from the directory."""


@dataclass(frozen=True)
class Authenticators:
    """Who checks which credentials: handed to IdentityService by services.py, so identity
    imports none of robots, projects or ldap (they import identity)."""

    database: Authenticator
    robot: Authenticator
    ldap: DirectoryAuthenticator | None = None


class DatabaseAuthenticator:
    """Users with a password hash in the database (argon2 in the database thread)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def authenticate(self, username: str, password: str) -> Principal | None:
        return await self.db.run(self._authenticate, username, password)

    @staticmethod
    def _authenticate(conn: Connection, username: str, password: str) -> Principal | None:
        row = user_store.get_user_by_name(conn, username)
        if row is None or row.password_hash is None:
            passwords.verify_password(passwords.DUMMY_HASH, password)  # same cost either way
            return None
        if not passwords.verify_password(row.password_hash, password):
            return None
        return principal_for(row)


@dataclass(frozen=True)
class ProjectAccess:
    project: ProjectRow | None
    roles: tuple[Role, ...]


def _initial_admin_password(config: Config, allow_dev_default: bool) -> tuple[str, str]:
    if config.admin_password_file is not None:
        try:
            text = config.admin_password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise BootstrapError(f"admin_password_file: cannot read it ({exc.strerror})") from None
        if not text:
            raise BootstrapError("admin_password_file: the file is empty")
        return text, "admin_password_file"
    if os.environ.get(ADMIN_PASSWORD_ENV):
        return os.environ[ADMIN_PASSWORD_ENV], ADMIN_PASSWORD_ENV
    if allow_dev_default:
        return DEV_ADMIN_PASSWORD, DEV_SOURCE
    raise BootstrapError(
        "no admin user yet: set admin_password_file (or HT_ADMIN_PASSWORD) for the first start"
    )


class IdentityService:
    def __init__(self, db: Database, config: Config, allow_dev_admin: bool = False) -> None:
        self.db = db
        self.config = config
        self.allow_dev_admin = allow_dev_admin
        self.settings: dict[str, Any] = dict(DEFAULT_SETTINGS)
        self._settings_generation = 0
        self.verified = VerifiedCredentials()
        self.authenticators = Authenticators(DatabaseAuthenticator(db), _NoRobots())

    def use_authenticators(self, authenticators: Authenticators) -> None:
        """Adopt the authenticators services.py built (robots and LDAP need this service)."""
        self.authenticators = authenticators

    # -- start-up ---------------------------------------------------------------------------

    def bootstrap_sync(self) -> None:
        """Apply configured settings, create the admin and ``library`` (blocking; at start)."""
        self.db.run_sync(self._apply_configured_settings)
        self.settings = {**DEFAULT_SETTINGS, **self.db.run_sync(settings_store.all_settings)}
        admin = self.db.run_sync(user_store.get_user_by_name, ADMIN)
        if admin is None:
            password, source = _initial_admin_password(self.config, self.allow_dev_admin)
            hashed = passwords.hash_password(password)
            self.db.run_sync(self._create_admin, hashed)
            if source == DEV_SOURCE:
                log.warn(
                    "created the admin user with the development password {password}; "
                    "set HT_ADMIN_PASSWORD before the first start to choose another",
                    password=DEV_ADMIN_PASSWORD,
                )
            else:
                log.warn("created the admin user with its password from {source}", source=source)
        self.db.run_sync(self._ensure_library)

    def _apply_configured_settings(self, conn: Connection) -> None:
        configured = {
            setting.name: getattr(self.config, setting.name, None)
            for setting in settings_schema.SETTINGS
            if not setting.secret
        }
        for name, value in configured.items():
            if value is None:
                continue
            if name == "auth_mode":
                self._check_auth_mode_change(conn, value)
            settings_store.put_setting(conn, name, value)

    def _check_auth_mode_change(self, conn: Connection, wanted: str) -> None:
        refusal = auth_mode_change_refusal(conn, wanted)
        if refusal is not None:
            raise BootstrapError(refusal)

    async def reload_settings(self) -> None:
        """Re-read the system settings (another process, or the API, may have changed them).

        A reload that started before a newer ``use_settings`` does not overwrite it."""
        generation = self._settings_generation
        stored = await self.db.run(settings_store.all_settings)
        if generation == self._settings_generation:
            self.use_settings(stored)

    def use_settings(self, stored: dict[str, Any]) -> None:
        """Adopt settings just read from (or written to) the database."""
        self._settings_generation += 1
        self.settings = {**DEFAULT_SETTINGS, **stored}

    @staticmethod
    def _create_admin(conn: Connection, password_hash: str) -> None:
        user_store.create_user(
            conn,
            ADMIN,
            password_hash=password_hash,
            sysadmin=True,
            realname="system admin",
            email="admin@example.com",
            comment="created at first start",
        )

    @staticmethod
    def _ensure_library(conn: Connection) -> None:
        if project_store.get_project(conn, "library") is None:
            admin = user_store.get_user_by_name(conn, ADMIN)
            owner = admin.id if admin else None
            project_id = project_store.create_project(conn, "library", owner, True)
            quota_store.create_quota(conn, project_id, quota_store.UNLIMITED)
            if owner is not None:  # as in Harbor, the admin is library's Project Admin
                member_store.add_member(conn, project_id, "u", owner, int(Role.PROJECT_ADMIN))

    # -- authentication ---------------------------------------------------------------------

    async def authenticate(
        self, username: str, password: str, client_ip: str | None = None
    ) -> Principal | None:
        """A principal for valid credentials, None otherwise (never says which part failed);
        DirectoryUnreachable when the LDAP directory did not answer.

        With ``client_ip`` the attempt is a login and is audited: every failure, and each
        success that needed the password checked (a cached check within a minute is not
        another login — docker asks for a token on every command).
        """
        if not username or not password or len(username) > 255 or len(password) > 1024:
            if client_ip is not None:
                await self._audit_login(username[:255] or "-", client_ip, False)
            return None
        cached = self.verified.get(username, password)
        if cached is not None:
            return cached
        try:
            principal = await self._verify(username, password)
        except DirectoryUnreachable:
            if client_ip is not None:
                await self._audit_login(username, client_ip, False)
            raise
        if principal is not None:
            self.verified.put(username, password, principal)
        if client_ip is not None:
            await self._audit_login(username, client_ip, principal is not None)
        return principal

    async def _verify(self, username: str, password: str) -> Principal | None:
        """Check credentials with the source that owns the name: robot accounts by their
        prefix, the admin always in the database, everyone else by the auth mode."""
        if username.startswith(str(self.settings.get("robot_name_prefix") or "robot$")):
            return await self.authenticators.robot.authenticate(username, password)
        if self.settings.get("auth_mode") == "ldap_auth" and username != ADMIN:
            if await self.db.run(_kept_local, username):
                return await self.authenticators.database.authenticate(username, password)
            if self.authenticators.ldap is None:
                return None
            return await self.authenticators.ldap.authenticate(username, password)
        return await self.authenticators.database.authenticate(username, password)

    async def _audit_login(self, username: str, client_ip: str, succeeded: bool) -> None:
        record = audit_store.AuditRecord(
            username=username,
            operation="login" if succeeded else "login_failed",
            resource_type="user",
            resource=username,
            client_ip=client_ip,
        )
        await self.db.run(audit_store.write_audit, [record])

    def forget_credentials(self, kind: str | None = None) -> None:
        """Call after any password, user or membership change; with ``kind`` ("robot")
        only that kind of principal is forgotten, so a robot's change does not make every
        user's next request pay for a password hash again."""
        if kind is None:
            self.verified.clear()
        else:
            self.verified.forget_kind(kind)

    async def principal_by_name(self, username: str) -> Principal | None:
        row = await self.db.run(user_store.get_user_by_name, username)
        if row is not None and row.auth_source == "ldap":  # groups live in the directory
            ldap = self.authenticators.ldap
            return None if ldap is None else await ldap.principal_for(row)
        return None if row is None else principal_for(row)

    # -- projects ---------------------------------------------------------------------------

    async def project_access(self, principal: Principal, project_name: str) -> ProjectAccess:
        return await self.db.run(self._project_access, principal, project_name)

    @staticmethod
    def _project_access(conn: Connection, principal: Principal, name: str) -> ProjectAccess:
        found = project_store.get_project(conn, name)
        if found is None or principal.anonymous or principal.kind == "robot":
            return ProjectAccess(found, ())
        roles = member_store.member_roles(conn, found.id, principal.user_id, principal.group_ids)
        return ProjectAccess(found, tuple(Role(r) for r in roles if r in Role._value2member_map_))

    @property
    def read_only(self) -> bool:
        return bool(self.settings.get("read_only"))


def _kept_local(conn: Connection, username: str) -> bool:
    """A database user in ldap_auth mode: one the mode switch kept local (not in the directory
    then) still logs in with its password."""
    row = user_store.get_user_by_name(conn, username)
    return row is not None and row.auth_source == "db"


def auth_mode_change_refusal(conn: Connection, wanted: str) -> str | None:
    """Why ``auth_mode`` may not become ``wanted`` now, or None: once users other than admin
    exist, only the switch (core/auth_mode_switch.py) changes the mode, moving them along."""
    current = settings_store.get_setting(conn, "auth_mode") or DEFAULT_SETTINGS["auth_mode"]
    if current != wanted and user_store.count_users_besides(conn, ADMIN) > 0:
        force = " --force" if wanted == "db_auth" else ""
        return (
            f"auth_mode: cannot change from {current} to {wanted} as a plain setting once "
            "users other than admin exist: their accounts must move too; run "
            f"`harbor-twisted admin switch-auth-mode {wanted}{force}` (add --dry-run to see "
            "what it does)"
        )
    return None


class VerifiedCredentials:
    """Recently verified credentials, so repeated logins skip the deliberately slow hash.

    Keys are salted SHA-256 digests of name and password (the salt lives only in this
    process's memory); entries live ``ttl`` seconds and are dropped on any change.
    """

    def __init__(self, ttl: float = 60.0, size: int = 1024) -> None:
        self.ttl = ttl
        self.size = size
        self._salt = secrets.token_bytes(16)
        self._entries: dict[bytes, tuple[Principal, float]] = {}

    def _key(self, username: str, password: str) -> bytes:
        material = username.encode() + b"\0" + password.encode()
        return hashlib.sha256(self._salt + material).digest()

    def get(self, username: str, password: str) -> Principal | None:
        entry = self._entries.get(self._key(username, password))
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, username: str, password: str, principal: Principal) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[self._key(username, password)] = (principal, time.monotonic() + self.ttl)

    def clear(self) -> None:
        self._entries.clear()

    def forget_kind(self, kind: str) -> None:
        self._entries = {key: entry for key, entry in self._entries.items()
                         if entry[0].kind != kind}


class _NoRobots:
    """Until services.py hands the robot authenticator over, robots cannot log in."""

    async def authenticate(self, username: str, password: str) -> Principal | None:
        return None


def reset_password(db: Database, username: str, password: str) -> None:
    """Set a database user's password from the command line (blocking; no reactor)."""
    passwords.check_policy(password)
    hashed = passwords.hash_password(password)

    def change(conn: Connection) -> None:
        row = user_store.get_user_by_name(conn, username)
        if row is None or row.auth_source != "db":
            raise LookupError(f"no database user named {username!r}")
        user_store.set_password_hash(conn, row.id, hashed)
        audit_store.write_audit(
            conn,
            [
                audit_store.AuditRecord(
                    username="cli",
                    operation="update",
                    resource_type="user",
                    resource=username,
                    detail={"change": "password reset"},
                )
            ],
        )

    db.run_sync(change)
