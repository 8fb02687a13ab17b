"""Distinguished names compared the way directories do: attribute types and values without
regard to case or the spaces around separators (``CN=Outer, ou=groups`` is ``cn=outer,ou=groups``).
"""

from __future__ import annotations

import ldap
import ldap.dn


def canonical(dn: str) -> str:
    """The DN with lower-case attribute types and no stray spaces; values keep their case."""
    try:
        parsed = ldap.dn.str2dn(dn.strip())
    except ldap.DECODING_ERROR:
        return dn.strip()
    rebuilt = [[(kind.lower(), value.strip(), flags) for kind, value, flags in rdn]
               for rdn in parsed]
    return ldap.dn.dn2str(rebuilt)


def key(dn: str) -> str:
    """What two DNs naming the same entry have in common (for sets and dictionaries)."""
    return canonical(dn).lower()


def is_valid(dn: str) -> bool:
    return bool(dn.strip()) and ldap.dn.is_dn(dn.strip())


def is_under(dn: str, base: str) -> bool:
    """True when ``dn`` is ``base`` or below it."""
    child, parent = key(dn), key(base)
    return child == parent or child.endswith("," + parent)


def first_value(dn: str) -> str:
    """The value of the DN's first RDN (``cn=outer,…`` → ``outer``): a group's fallback name."""
    try:
        parsed = ldap.dn.str2dn(dn.strip())
    except ldap.DECODING_ERROR:
        return dn.strip()
    return parsed[0][0][1] if parsed and parsed[0] else dn.strip()
