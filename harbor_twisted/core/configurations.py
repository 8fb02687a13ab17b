"""System configuration as ``/configurations`` shows and changes it (system admins only).

The keys are ``settings_schema.SETTINGS``. Secrets are write-only: kept as 0600 files in the
secrets directory, never in the database, never returned, never in the audit detail. A
change is validated whole, then stored in one transaction with its audit record; the
process adopts it at once, other processes within ``settings_refresh_seconds``.

Settings given in the configuration file are applied again at every start, so the API
reports them as not editable and refuses to change them (the change would be undone
silently at the next restart).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection

from harbor_twisted.common import settings_schema
from harbor_twisted.common.settings_schema import Setting
from harbor_twisted.core import auth_mode_switch
from harbor_twisted.core.audit import Actor
from harbor_twisted.core.auth_mode_switch import SwitchPlan, SwitchRefused
from harbor_twisted.core.errors import Conflict, Invalid, PreconditionFailed
from harbor_twisted.core.identity import IdentityService, auth_mode_change_refusal
from harbor_twisted.core.rbac import Principal, require_sysadmin
from harbor_twisted.db import audit_store, settings_store
from harbor_twisted.ldap.client import DirectoryError, DirectoryUnavailable
from harbor_twisted.ldap.settings import LdapConfigError

MAX_TEXT = 4096
# Changing these changes who a set of credentials belongs to: cached checks must go.
_AUTH_PREFIXES = ("auth_mode", "ldap_")


@dataclass(frozen=True)
class ConfigItem:
    value: Any
    editable: bool


def check_value(setting: Setting, value: Any) -> Any:
    """The value if it fits the setting's type, choices and bounds; ``Invalid`` otherwise."""
    name = setting.name
    if setting.kind is bool:
        if not isinstance(value, bool):
            raise Invalid(f"{name} must be true or false")
    elif setting.kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"{name} must be an integer")
        if setting.minimum is not None and value < setting.minimum:
            raise Invalid(f"{name} must be at least {setting.minimum}")
        if setting.maximum is not None and value > setting.maximum:
            raise Invalid(f"{name} must be at most {setting.maximum}")
    else:
        if not isinstance(value, str):
            raise Invalid(f"{name} must be a string")
        if "\x00" in value or len(value) > MAX_TEXT:
            raise Invalid(f"{name} must be at most {MAX_TEXT} characters, without NUL")
        value = value if setting.secret else value.strip()
    if setting.choices and value not in setting.choices:
        raise Invalid(f"{name} must be one of {', '.join(str(c) for c in setting.choices)}")
    if name == "ldap_url" and value and _scheme(value) not in ("ldap", "ldaps"):
        raise Invalid("ldap_url must start with ldap:// or ldaps://")
    return value


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme
    except ValueError:  # a broken [IPv6] host
        return ""


def pinned_by_config(identity: IdentityService, setting: Setting) -> bool:
    """True when the configuration file sets it (and so re-applies it at every start)."""
    attribute = f"{setting.name}_file" if setting.secret else setting.name
    return getattr(identity.config, attribute, None) is not None


def validate(identity: IdentityService, changes: dict[str, Any]) -> dict[str, Any]:
    """Every key known, settable and of the right shape; unknown keys are named."""
    unknown = sorted(set(changes) - set(settings_schema.BY_NAME))
    if unknown:
        raise Invalid(f"unknown configuration key(s): {', '.join(unknown)}")
    checked = {}
    for name, value in changes.items():
        setting = settings_schema.BY_NAME[name]
        if pinned_by_config(identity, setting):
            raise Invalid(
                f"{name} is set in the configuration file, which is applied at every start; "
                "change it there"
            )
        checked[name] = check_value(setting, value)
    return checked


class ConfigurationService:
    def __init__(self, identity: IdentityService) -> None:
        self.identity = identity
        self.db = identity.db

    async def current(self, principal: Principal) -> dict[str, ConfigItem]:
        """Every non-secret setting with its value and whether it may be changed now."""
        require_sysadmin(principal, "read or change the configuration")
        stored = await self.db.run(settings_store.all_settings)
        self.identity.use_settings(stored)
        values = self.identity.settings
        items = {}
        for setting in settings_schema.SETTINGS:
            if setting.secret:
                continue
            editable = not pinned_by_config(self.identity, setting)
            items[setting.name] = ConfigItem(values.get(setting.name), editable)
        return items

    async def update(self, actor: Actor, changes: dict[str, Any]) -> list[str]:
        """Apply ``changes`` (a flat object of keys); the names of those that changed."""
        require_sysadmin(actor.principal, "read or change the configuration")
        checked = validate(self.identity, changes)
        if "auth_mode" in checked and await self.db.run(_needs_switch, checked["auth_mode"]):
            if len(checked) > 1:
                raise Invalid("auth_mode moves the users along (a switch): change it alone")
            await self.switch_auth_mode(actor, checked["auth_mode"], dry_run=False)
            return ["auth_mode"]
        changed, stored = await self.db.run(self._update, actor, checked)
        self.identity.use_settings(stored)
        if any(name.startswith(_AUTH_PREFIXES) for name in changed):
            self.identity.forget_credentials()
        return changed

    async def switch_auth_mode(self, actor: Actor, target: str, *, dry_run: bool,
                               force: bool = False) -> SwitchPlan:
        """The auth mode switch (core/auth_mode_switch.py) for a system admin, or its plan."""
        require_sysadmin(actor.principal, "read or change the configuration")
        target = check_value(settings_schema.BY_NAME["auth_mode"], target)
        try:
            found = await auth_mode_switch.switch(
                self.db, self.identity.settings, self.identity.config, target,
                dry_run=dry_run, actor=actor.username, force=force, client_ip=actor.client_ip)
        except SwitchRefused as error:
            raise Conflict(str(error)) from None
        except (DirectoryError, DirectoryUnavailable, LdapConfigError) as error:
            raise PreconditionFailed(f"cannot ask the directory: {error}") from None
        if found.done:
            self.identity.use_settings(await self.db.run(settings_store.all_settings))
            self.identity.forget_credentials()
        return found

    def _update(
        self, conn: Connection, actor: Actor, checked: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any]]:
        current = settings_store.all_settings(conn)
        secrets = {n: v for n, v in checked.items() if settings_schema.BY_NAME[n].secret}
        plain = {
            name: value
            for name, value in checked.items()
            if name not in secrets
            and current.get(name, settings_schema.DEFAULTS.get(name)) != value
        }
        for name, value in plain.items():
            settings_store.put_setting(conn, name, value)
        changed = sorted([*plain, *secrets])
        if changed:
            record = actor.record("update", "configuration", "configurations",
                                  detail={"changed": changed})
            audit_store.write_audit(conn, [record])
        # Files last: a refusal or a database error above leaves the secrets untouched.
        # This runs in a database thread, never on the reactor.
        for name, value in secrets.items():
            settings_schema.write_secret(self.identity.config, name, value)
        return changed, {**current, **plain}


def _needs_switch(conn: Connection, wanted: str) -> bool:
    """Changing the mode once users other than admin exist moves them: a switch."""
    return auth_mode_change_refusal(conn, wanted) is not None
