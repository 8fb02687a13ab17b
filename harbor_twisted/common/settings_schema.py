"""The runtime settings an administrator can read and change: Harbor's configuration keys.

One table for everyone who touches settings: the configuration file (applied at each
start), the ``/configurations`` API (read and write), the LDAP authenticator and the
services that read ``IdentityService.settings``. Values live in the ``system_setting``
table — except secrets, which live only as 0600 files in the secrets directory (see
:func:`secret_path`) and are never stored in the database or returned by the API.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harbor_twisted.config import Config

LDAP_SCOPES = (0, 1, 2)  # base, one level, subtree (Harbor's numbering)


@dataclass(frozen=True)
class Setting:
    name: str
    kind: type  # str, int or bool
    default: Any
    choices: tuple[Any, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    secret: bool = False  # write-only; kept in the secrets directory, never in the database


SETTINGS: tuple[Setting, ...] = (
    Setting("auth_mode", str, "db_auth", choices=("db_auth", "ldap_auth")),
    Setting("self_registration", bool, False),
    Setting("project_creation_restriction", str, "everyone", choices=("everyone", "adminonly")),
    Setting("read_only", bool, False),
    Setting("token_expiration", int, 30, minimum=1, maximum=60 * 24 * 365),
    Setting("robot_token_duration", int, 30, minimum=-1, maximum=365 * 100),
    Setting("robot_name_prefix", str, "robot$"),
    # LDAP / Active Directory (used when auth_mode is ldap_auth)
    Setting("ldap_url", str, ""),
    Setting("ldap_search_dn", str, ""),
    Setting("ldap_search_password", str, "", secret=True),
    Setting("ldap_base_dn", str, ""),
    Setting("ldap_filter", str, ""),
    Setting("ldap_uid", str, "cn"),
    Setting("ldap_scope", int, 2, choices=LDAP_SCOPES),
    Setting("ldap_timeout", int, 5, minimum=1, maximum=300),
    Setting("ldap_verify_cert", bool, True),
    Setting("ldap_ca_file", str, ""),
    Setting("ldap_starttls", bool, False),
    Setting("ldap_group_base_dn", str, ""),
    Setting("ldap_group_search_filter", str, ""),
    Setting("ldap_group_attribute_name", str, "cn"),
    Setting("ldap_group_search_scope", int, 2, choices=LDAP_SCOPES),
    Setting("ldap_group_admin_dn", str, ""),
    Setting("ldap_group_membership_attribute", str, "memberof"),
    Setting("ldap_group_member_attribute", str, "member"),
    Setting("ldap_nested_groups", bool, True),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
DEFAULTS: dict[str, Any] = {s.name: s.default for s in SETTINGS if not s.secret}


def secret_path(config: Config, name: str) -> Path:
    """Where a secret setting lives: ``<name>_file`` from the configuration when given
    (the Ansible role points it into its secrets directory), else ``<secrets_dir>/<name>``."""
    configured = getattr(config, f"{name}_file", None)
    if configured is not None:
        return Path(configured)
    return config.effective_secrets_dir / name


def read_secret(config: Config, name: str) -> str:
    """The secret's value, or "" when it was never set (blocking; call off the reactor)."""
    try:
        return secret_path(config, name).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""


def write_secret(config: Config, name: str, value: str) -> None:
    """Store a secret 0600 in a 0700 directory, replacing it atomically (blocking)."""
    path = secret_path(config, name)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
