"""The LDAP settings of one directory conversation, read from the runtime settings.

The search password is a secret: it comes from the secrets directory (never the database)
and is kept out of ``repr`` so it cannot reach a log line by accident.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harbor_twisted.common import settings_schema
from harbor_twisted.config import Config

# An attribute description: a name (letters, digits, hyphens) or a numeric OID.
_ATTRIBUTE = re.compile(r"[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+")


class LdapConfigError(ValueError):
    """The settings cannot work (the message names the setting)."""


@dataclass(frozen=True)
class LdapSettings:
    url: str
    search_dn: str = ""
    search_password: str = field(default="", repr=False)
    base_dn: str = ""
    filter: str = ""
    uid: str = "cn"
    scope: int = 2
    timeout: int = 5
    verify_cert: bool = True
    ca_file: str = ""
    starttls: bool = False
    group_base_dn: str = ""
    group_search_filter: str = ""
    group_attribute_name: str = "cn"
    group_search_scope: int = 2
    group_admin_dn: str = ""
    group_membership_attribute: str = "memberof"
    group_member_attribute: str = "member"
    nested_groups: bool = True

    def check(self) -> LdapSettings:
        """Refuse settings that cannot work, naming the setting; returns self."""
        if not self.url.lower().startswith(("ldap://", "ldaps://")):
            raise LdapConfigError("ldap_url: expected a URL starting with ldap:// or ldaps://")
        if not self.base_dn.strip():
            raise LdapConfigError("ldap_base_dn: the base DN to search users under is not set")
        for name in ("uid", "group_attribute_name"):
            if not _ATTRIBUTE.fullmatch(getattr(self, name)):
                raise LdapConfigError(f"ldap_{name}: not an attribute name")
        for name in ("group_membership_attribute", "group_member_attribute"):
            value = getattr(self, name)
            if value and not _ATTRIBUTE.fullmatch(value):
                raise LdapConfigError(f"ldap_{name}: not an attribute name")
        for name in ("scope", "group_search_scope"):
            if getattr(self, name) not in settings_schema.LDAP_SCOPES:
                raise LdapConfigError(f"ldap_{name}: must be 0 (base), 1 (one level) or 2")
        if not 1 <= self.timeout <= 300:
            raise LdapConfigError("ldap_timeout: must be between 1 and 300 seconds")
        return self

    @property
    def uses_tls(self) -> bool:
        return self.url.lower().startswith("ldaps://") or self.starttls


_FIELDS = tuple(f.name for f in dataclasses.fields(LdapSettings) if f.name != "search_password")


def from_settings(settings: Mapping[str, Any], search_password: str) -> LdapSettings:
    """LdapSettings from the runtime settings (``ldap_*`` keys) and the search password."""
    values: dict[str, Any] = {}
    for name in _FIELDS:
        key = f"ldap_{name}"
        default = settings_schema.BY_NAME[key].default
        value = settings.get(key, default)
        values[name] = default if value is None else value
    values["url"] = str(values["url"]).strip()
    return LdapSettings(search_password=search_password, **values)


def load(settings: Mapping[str, Any], config: Config) -> LdapSettings:
    """The current settings with the stored search password (blocking: reads a file)."""
    password = settings_schema.read_secret(config, "ldap_search_password")
    return from_settings(settings, password).check()
