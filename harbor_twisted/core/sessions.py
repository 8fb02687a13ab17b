"""Portal sessions: ``/c/login`` starts one, the ``sid`` cookie carries it, ``/c/log_out``
ends it.

Sessions live in the database (table ``session``) so they survive restarts and work across
processes behind one proxy; the row is keyed by a SHA-256 of the session id, so a copy of
the database hands out no session. A session ends after ``session_idle_seconds`` without
use (sliding) and ``session_max_seconds`` after login, whichever comes first.

CSRF: a session's token is an HMAC of its id, so every process can check it without storing
it and it changes with each login; requests authenticated by the cookie that change
something must echo it in ``X-Harbor-CSRF-Token`` (Harbor's header).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from harbor_twisted.config import Config
from harbor_twisted.core.identity import IdentityService
from harbor_twisted.core.rbac import Principal
from harbor_twisted.db import session_store
from harbor_twisted.db.session_store import SessionRow

SESSION_COOKIE = "sid"
CSRF_COOKIE = "__csrf"
CSRF_HEADER = "X-Harbor-CSRF-Token"
MAX_SID = 128


@dataclass(frozen=True)
class Session:
    sid: str  # the cookie's value; never stored
    principal: Principal

    @property
    def csrf_token(self) -> str:
        return csrf_token_for(self.sid)


def hash_sid(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


def csrf_token_for(sid: str) -> str:
    digest = hmac.new(sid.encode("utf-8"), b"harbor-twisted csrf", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def csrf_matches(session: Session, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(
        session.csrf_token.encode(), (presented or "").strip().encode("utf-8", "replace")
    )


def principal_of_row(row: SessionRow) -> Principal:
    """The user as they are now; what a login outside the database granted (an LDAP admin
    group, say) holds until the session ends, for database users the flag decides alone."""
    sysadmin = row.user_sysadmin or (row.login_sysadmin and row.auth_source != "db")
    return Principal("user", row.username, row.user_id, sysadmin, row.group_ids)


class SessionService:
    def __init__(
        self, identity: IdentityService, config: Config, clock: Callable[[], float] = time.time
    ) -> None:
        self.identity = identity
        self.db = identity.db
        self.idle = float(config.session_idle_seconds)
        self.lifetime = float(config.session_max_seconds)
        # sliding needs a write; one per tenth of the idle time is plenty
        self.touch_after = min(60.0, self.idle / 10)
        self.clock = clock

    async def login(
        self, username: str, password: str, client_ip: str, previous_sid: str | None = None
    ) -> Session | None:
        """A new session for valid user credentials (robots have no portal); the login is
        audited by the identity service. Any session the browser still had is ended, so a
        session id planted before login is never promoted."""
        principal = await self.identity.authenticate(username, password, client_ip)
        if principal is None or principal.kind != "user" or principal.user_id is None:
            return None
        sid = secrets.token_urlsafe(32)
        previous = (hash_sid(previous_sid)
                    if previous_sid is not None and _plausible(previous_sid) else None)
        await self.db.run(self._create, hash_sid(sid), principal, client_ip, previous)
        return Session(sid, principal)

    def _create(
        self, conn: Connection, id_hash: str, principal: Principal, client_ip: str,
        previous: str | None,
    ) -> None:
        now = self.clock()
        session_store.sweep_sessions(conn, now - self.idle, now - self.lifetime)
        if previous is not None:
            session_store.delete_session(conn, previous)
        session_store.create_session(conn, id_hash, principal.user_id or 0, principal.sysadmin,
                                     principal.group_ids, client_ip, now)

    async def resolve(self, sid: str | None) -> Session | None:
        """The live session a cookie names, or None (unknown, expired or malformed)."""
        if not _plausible(sid):
            return None
        row = await self.db.run(self._resolve, hash_sid(sid or ""))
        return None if row is None else Session(sid or "", principal_of_row(row))

    def _resolve(self, conn: Connection, id_hash: str) -> SessionRow | None:
        row = session_store.find_session(conn, id_hash)
        if row is None:
            return None
        now = self.clock()
        if now - row.last_seen > self.idle or now - row.created > self.lifetime:
            session_store.delete_session(conn, id_hash)
            return None
        if now - row.last_seen > self.touch_after:
            session_store.touch_session(conn, id_hash, now)
        return row

    async def logout(self, sid: str | None) -> bool:
        if not _plausible(sid):
            return False
        return await self.db.run(session_store.delete_session, hash_sid(sid or ""))


def _plausible(sid: str | None) -> bool:
    return bool(sid) and len(sid or "") <= MAX_SID
