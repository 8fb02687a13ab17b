#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: usergroup
short_description: Manage a user group of Harbor
version_added: 0.1.0
description:
  - Create, rename or delete a user group through Harbor's REST API v2.0.
  - An LDAP group is named by its DN (which the registry checks in the directory); an
    HTTP or OIDC group by its name.
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.CHECK_MODE
options:
  name:
    description:
      - The group's name. For an LDAP group found by I(ldap_group_dn), the name it shows.
    type: str
    required: true
  group_type:
    description: The kind of group. The type of an existing group cannot change.
    type: str
    choices: [ldap, http, oidc]
    default: http
  ldap_group_dn:
    description: The LDAP group's DN (with I(group_type=ldap)); identifies the group.
    type: str
  state:
    description: Whether the group exists.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: The LDAP group developers, known to the registry as developers
  harbor_twisted.registry.usergroup:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    name: developers
    group_type: ldap
    ldap_group_dn: cn=developers,ou=groups,dc=example,dc=org
"""

RETURN = r"""
group:
  description: The group's managed fields after the task (empty when absent).
  returned: always
  type: dict
  sample: {"name": "developers", "group_type": "ldap", "ldap_group_dn": "cn=developers,ou=groups,dc=example,dc=org", "id": 3}
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.harbor import HarborError
from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import ObjectModule

TYPES = {"ldap": 1, "http": 2, "oidc": 3}
TYPE_NAMES = dict((v, k) for k, v in TYPES.items())


class UserGroup(ObjectModule):
    kind = "group"
    path = "/usergroups"
    result_ids = (("id", "id"),)
    argument_spec = dict(
        name=dict(type="str", required=True),
        group_type=dict(type="str", default="http", choices=sorted(TYPES)),
        ldap_group_dn=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module_kwargs = dict(required_if=[("group_type", "ldap", ("ldap_group_dn",))])

    def read(self):
        dn = self.params["ldap_group_dn"]
        kind = TYPES[self.params["group_type"]]
        for group in self.api.list_all("/usergroups"):
            if group.get("group_type") != kind:
                continue
            if dn and (group.get("ldap_group_dn") or "").lower() == dn.lower():
                return group
            if not dn and group.get("group_name") == self.params["name"]:
                return group
        return None

    def view(self, existing):
        return {"name": existing["group_name"],
                "group_type": TYPE_NAMES.get(existing["group_type"], "ldap"),
                "ldap_group_dn": existing.get("ldap_group_dn") or ""}

    def wanted(self):
        return {"name": self.params["name"], "group_type": self.params["group_type"],
                "ldap_group_dn": self.params["ldap_group_dn"] or ""}

    def create(self, after):
        body = {"group_name": after["name"], "group_type": TYPES[after["group_type"]]}
        if after["ldap_group_dn"]:
            body["ldap_group_dn"] = after["ldap_group_dn"]
        self.api.post("/usergroups", body)

    def update(self, existing, after, changed):
        if set(changed) - {"name"}:
            raise HarborError("group %r: only the name of an existing group can change"
                              % existing["group_name"])
        self.api.put("/usergroups/%d" % existing["id"], {"group_name": after["name"]})


def main():
    UserGroup().execute()


if __name__ == "__main__":
    main()
