"""The LDAP settings as the authentication page's form shows and reads them: which settings,
how each is entered, and the typed values a submitted form stands for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harbor_twisted.common import settings_schema
from harbor_twisted.common.settings_schema import Setting
from harbor_twisted.core.configurations import ConfigItem
from harbor_twisted.core.errors import Invalid

SEARCH_PASSWORD = "ldap_search_password"
SCOPE_LABELS = {0: "Base", 1: "One level", 2: "Subtree"}
LABELS = {
    "ldap_url": "LDAP URL (ldap:// or ldaps://)",
    "ldap_search_dn": "Search DN (empty: anonymous search)",
    "ldap_base_dn": "Base DN of users",
    "ldap_filter": "Extra user filter",
    "ldap_uid": "Login attribute (uid, sAMAccountName…)",
    "ldap_scope": "User search scope",
    "ldap_timeout": "Timeout (seconds)",
    "ldap_verify_cert": "Verify the server's certificate",
    "ldap_ca_file": "CA bundle file (on the server)",
    "ldap_starttls": "StartTLS on ldap://",
    "ldap_group_base_dn": "Base DN of groups",
    "ldap_group_search_filter": "Group filter",
    "ldap_group_attribute_name": "Group name attribute",
    "ldap_group_search_scope": "Group search scope",
    "ldap_group_admin_dn": "Group whose members are system admins",
    "ldap_group_membership_attribute": "User-side membership attribute",
    "ldap_group_member_attribute": "Group-side member attribute",
    "ldap_nested_groups": "Follow nested groups",
}


@dataclass(frozen=True)
class Field:
    setting: Setting
    label: str
    value: Any
    editable: bool

    @property
    def name(self) -> str:
        return self.setting.name

    @property
    def input(self) -> str:
        """checkbox, scope (a select), number or text."""
        if self.setting.kind is bool:
            return "checkbox"
        if self.setting.choices == settings_schema.LDAP_SCOPES:
            return "scope"
        return "number" if self.setting.kind is int else "text"


def ldap_settings() -> tuple[Setting, ...]:
    return tuple(s for s in settings_schema.SETTINGS
                 if s.name.startswith("ldap_") and not s.secret)


def fields(items: dict[str, ConfigItem]) -> list[Field]:
    return [Field(s, LABELS.get(s.name, s.name), items[s.name].value, items[s.name].editable)
            for s in ldap_settings() if s.name in items]


def _typed(setting: Setting, form: dict[str, str]) -> Any:
    text = form.get(setting.name, "").strip()
    if setting.kind is bool:
        return text == "true"
    if setting.kind is int:
        if not text.lstrip("-").isdecimal() or len(text) > 9:
            raise Invalid(f"{LABELS.get(setting.name, setting.name)}: enter a whole number")
        return int(text)
    return text


def changes(form: dict[str, str], items: dict[str, ConfigItem],
            password_editable: bool) -> dict[str, Any]:
    """The editable settings whose submitted value differs from the current one; the
    search password only when one was typed (empty keeps the stored one)."""
    found = {}
    for setting in ldap_settings():
        item = items.get(setting.name)
        if item is None or not item.editable:
            continue
        value = _typed(setting, form)
        if value != item.value:
            found[setting.name] = value
    password = form.get(SEARCH_PASSWORD, "")
    if password and password_editable:
        found[SEARCH_PASSWORD] = password
    return found


def ping_overrides(form: dict[str, str], items: dict[str, ConfigItem]) -> dict[str, Any]:
    """The form's values as a ping's LdapConf: what is on the screen is what is tested
    (fields fixed in the file are not sent by the browser: their current value counts)."""
    conf: dict[str, Any] = {}
    for setting in ldap_settings():
        item = items.get(setting.name)
        if item is None:
            continue
        conf[setting.name] = _typed(setting, form) if item.editable else item.value
    if form.get(SEARCH_PASSWORD):
        conf[SEARCH_PASSWORD] = form[SEARCH_PASSWORD]
    return conf
