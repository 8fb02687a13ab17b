"""Database users: profiles, passwords under the policy, the system-admin flag and
self-registration — each change audited in its own transaction.

Password hashing and verification (argon2, deliberately slow) run inside the database
thread with the lookup, never on the reactor; any change forgets cached credentials.
"""

from __future__ import annotations

import builtins
import dataclasses
import re
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from harbor_twisted.auth import passwords
from harbor_twisted.core.audit import Actor, listed
from harbor_twisted.core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PreconditionFailed,
)
from harbor_twisted.core.identity import ADMIN, IdentityService
from harbor_twisted.core.rbac import Principal, require_signed_in, require_sysadmin
from harbor_twisted.db import audit_store, user_store
from harbor_twisted.db.listing import Filter, Listing
from harbor_twisted.db.user_store import UserRecord

FIELD_MAX = 255
# Harbor refuses , ~ # $ %; ":" would break Basic credentials, "$" also keeps robot$ names
# apart, and whitespace or control characters only cause trouble.
_ILLEGAL_IN_USERNAME = re.compile(r"[,~#$%:\"\\/\s\x00-\x1f\x7f]")
_EMAIL = re.compile(r"[^@\s<>()\[\]\\,;:\"]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}")


@dataclass(frozen=True)
class NewUser:
    username: str
    email: str
    password: str
    realname: str = ""
    comment: str = ""


@dataclass(frozen=True)
class ProfileChange:
    """Fields left None keep their current value."""

    email: str | None = None
    realname: str | None = None
    comment: str | None = None


def _self_or_admin(principal: Principal, user_id: int, verb: str) -> None:
    require_signed_in(principal)
    if not principal.sysadmin and principal.user_id != user_id:
        raise Forbidden(f"Not authorized to {verb} user: {user_id}")


def check_username(username: str) -> None:
    if not username or len(username) > FIELD_MAX:
        raise Invalid("username must be 1 to 255 characters long")
    if _ILLEGAL_IN_USERNAME.search(username):
        raise Invalid(
            'username cannot contain spaces, control characters or any of , ~ # $ % : " \\ /'
        )


def check_email(email: str) -> None:
    if not email:
        raise Invalid("email can't be empty")
    if len(email) > FIELD_MAX or not _EMAIL.fullmatch(email):
        raise Invalid("email with illegal format")


def check_text(name: str, value: str) -> None:
    if len(value) > FIELD_MAX:
        raise Invalid(f"{name} must be at most {FIELD_MAX} characters long")


def check_password(password: str) -> None:
    try:
        passwords.check_policy(password)
    except passwords.PasswordPolicyError as error:
        raise Invalid(str(error)) from None


def _existing(conn: Connection, user_id: int) -> user_store.UserRow:
    row = user_store.get_user_row(conn, user_id)
    if row is None:
        raise NotFound(f"user {user_id} not found")
    return row


class UserService:
    def __init__(self, identity: IdentityService) -> None:
        self.identity = identity
        self.db = identity.db

    # -- reading ---------------------------------------------------------------------------

    async def current(self, principal: Principal) -> UserRecord:
        require_signed_in(principal)
        if principal.kind != "user" or principal.user_id is None:
            raise PreconditionFailed(f"no user profile for a {principal.kind} account")
        return await self.get(principal, principal.user_id)

    async def get(self, principal: Principal, user_id: int) -> UserRecord:
        _self_or_admin(principal, user_id, "read")
        found = await self.db.run(user_store.get_user_record, user_id)
        if found is None:
            raise NotFound(f"user {user_id} not found")
        return found

    async def list(self, principal: Principal, listing: Listing) -> tuple[list[UserRecord], int]:
        require_sysadmin(principal)
        return await self.db.run(lambda conn: listed(user_store.list_users, conn, listing))

    async def search(
        self, principal: Principal, username: str, page: int, page_size: int
    ) -> tuple[builtins.list[UserRecord], int]:
        """Open to every signed-in caller: names and ids only, for adding members."""
        require_signed_in(principal)
        listing = Listing((Filter("username", "fuzzy", (username,)),), (), page, page_size)
        return await self.db.run(lambda conn: listed(user_store.list_users, conn, listing))

    # -- changing --------------------------------------------------------------------------

    async def create(self, actor: Actor, new: NewUser) -> int:
        """System admins create users; anyone may register when self-registration is on."""
        principal = actor.principal
        if self.identity.settings.get("auth_mode", "db_auth") != "db_auth":
            raise Forbidden("creating local users is not allowed under this auth mode")
        if not principal.sysadmin and not self.identity.settings.get("self_registration"):
            require_sysadmin(principal)
        check_username(new.username)
        check_email(new.email)
        check_text("realname", new.realname)
        check_text("comment", new.comment)
        check_password(new.password)
        if principal.anonymous:  # self-registration: the newcomer acts for themself
            actor = dataclasses.replace(
                actor, principal=Principal("user", new.username)
            )
        return await self.db.run(_create, actor, new)

    async def update_profile(self, actor: Actor, user_id: int, change: ProfileChange) -> None:
        _self_or_admin(actor.principal, user_id, "update")
        if change.email is not None:
            check_email(change.email)
        for name in ("realname", "comment"):
            value = getattr(change, name)
            if value is not None:
                check_text(name, value)
        await self.db.run(_update_profile, actor, user_id, change)

    async def change_password(
        self, actor: Actor, user_id: int, old: str | None, new: str
    ) -> None:
        """Users change their own password with the old one; admins reset others' without."""
        _self_or_admin(actor.principal, user_id, "update")
        check_password(new)
        await self.db.run(_change_password, actor, user_id, old, new)
        self.identity.forget_credentials()

    async def set_sysadmin(self, actor: Actor, user_id: int, flag: bool) -> None:
        require_sysadmin(actor.principal)
        await self.db.run(_set_sysadmin, actor, user_id, flag)
        self.identity.forget_credentials()

    async def delete(self, actor: Actor, user_id: int) -> None:
        require_sysadmin(actor.principal)
        if actor.principal.user_id == user_id:
            raise Forbidden(f"User with ID {user_id} cannot be deleted")
        await self.db.run(_delete, actor, user_id)
        self.identity.forget_credentials()


def _create(conn: Connection, actor: Actor, new: NewUser) -> int:
    password_hash = passwords.hash_password(new.password)  # before any write: no lock held
    if user_store.get_user_by_name(conn, new.username) is not None:
        raise Conflict(f"username {new.username} already exists")
    if user_store.email_in_use(conn, new.email):
        raise Conflict(f"email {new.email} already exists")
    try:
        user_id = user_store.create_user(
            conn, new.username, password_hash=password_hash, email=new.email,
            realname=new.realname, comment=new.comment,
        )
    except IntegrityError:
        raise Conflict(f"username {new.username} already exists") from None
    audit_store.write_audit(conn, [actor.record("create", "user", new.username)])
    return user_id


def _update_profile(conn: Connection, actor: Actor, user_id: int, change: ProfileChange) -> None:
    row = _existing(conn, user_id)
    values = {k: v for k, v in dataclasses.asdict(change).items() if v is not None}
    if change.email is not None and user_store.email_in_use(conn, change.email, user_id):
        raise Conflict(f"email {change.email} already exists")
    if not values:
        return
    user_store.update_user(conn, user_id, **values)
    audit_store.write_audit(
        conn, [actor.record("update", "user", row.username, detail={"changed": sorted(values)})]
    )


def _change_password(
    conn: Connection, actor: Actor, user_id: int, old: str | None, new: str
) -> None:
    row = _existing(conn, user_id)
    if row.auth_source != "db":
        raise Forbidden(f"User with ID {user_id} can't be updated: its password lives in LDAP")
    # No hash: a directory user kept after a forced switch back to db_auth; an admin sets
    # the first password (the user has none to prove).
    current = row.password_hash
    changing_own = actor.principal.user_id == user_id
    if changing_own and not (old and current and passwords.verify_password(current, old)):
        raise Forbidden("Current password is incorrect")
    if current is not None and passwords.verify_password(current, new):
        raise Invalid("New password is identical to old password")
    user_store.set_password_hash(conn, user_id, passwords.hash_password(new))
    audit_store.write_audit(
        conn, [actor.record("update", "user", row.username, detail={"changed": ["password"]})]
    )


def _set_sysadmin(conn: Connection, actor: Actor, user_id: int, flag: bool) -> None:
    row = _existing(conn, user_id)
    if row.username == ADMIN or user_id == actor.principal.user_id:
        raise Forbidden(f"the system admin flag of {row.username} cannot be changed here")
    if row.sysadmin == flag:
        return
    user_store.update_user(conn, user_id, sysadmin_flag=flag)
    audit_store.write_audit(
        conn, [actor.record("update", "user", row.username, detail={"sysadmin_flag": flag})]
    )


def _delete(conn: Connection, actor: Actor, user_id: int) -> None:
    row = _existing(conn, user_id)
    if row.username == ADMIN:
        raise Forbidden(f"User with ID {user_id} cannot be deleted")
    user_store.delete_user(conn, user_id)
    audit_store.write_audit(conn, [actor.record("delete", "user", row.username)])
