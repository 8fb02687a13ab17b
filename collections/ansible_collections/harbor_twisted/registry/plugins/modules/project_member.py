#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: project_member
short_description: Give a user or a group a role in a Harbor project
version_added: 0.1.0
description:
  - Add, change or remove a project member through Harbor's REST API v2.0.
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.CHECK_MODE
options:
  project:
    description: The project's name.
    type: str
    required: true
  user:
    description: The member, a user named by username. Give I(user) or I(group).
    type: str
  group:
    description:
      - The member, a group named by its name or, for an LDAP group, its DN.
      - An LDAP DN that is not yet a group of the registry is imported as one (named after
        the DN's first value), as Harbor does.
    type: str
  role:
    description: The member's role. Required with I(state=present).
    type: str
    choices: [project_admin, maintainer, developer, guest, limited_guest]
  state:
    description: Whether the user or group is a member.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: The LDAP group developers may push to the project lab
  harbor_twisted.registry.project_member:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    project: lab
    group: cn=developers,ou=groups,dc=example,dc=org
    role: developer
"""

RETURN = r"""
member:
  description: The membership after the task (empty when absent).
  returned: always
  type: dict
  sample: {"role": "developer", "entity_type": "g", "entity_name": "developers", "id": 4}
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.harbor import (
    ROLE_NAMES,
    HarborError,
    path_part,
    role_id,
)
from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import ObjectModule


def _dn_key(dn):
    """A DN compared as LDAP does: case and the spaces around separators do not count."""
    return ",".join("=".join(p.strip() for p in rdn.split("=", 1))
                    for rdn in dn.lower().split(",")) if "=" in dn else None


class ProjectMember(ObjectModule):
    kind = "member"
    result_ids = (("id", "id"), ("entity_type", "entity_type"), ("entity_name", "entity_name"))
    argument_spec = dict(
        project=dict(type="str", required=True),
        user=dict(type="str"),
        group=dict(type="str"),
        role=dict(type="str", choices=sorted(ROLE_NAMES.values())),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module_kwargs = dict(required_one_of=[("user", "group")], mutually_exclusive=[("user", "group")],
                         required_if=[("state", "present", ("role",))])

    def validate(self):
        self.api.project_required(self.params["project"])
        self.group = None
        if self.params["group"]:
            self.group = self._find_group(self.params["group"])

    def _find_group(self, text):
        for group in self.api.list_all("/usergroups"):
            wanted = _dn_key(text)
            if text == group.get("group_name") or (
                    wanted is not None and wanted == _dn_key(group.get("ldap_group_dn") or "")):
                return group
        return None

    def _members_path(self):
        return "/projects/%s/members" % path_part(self.params["project"])

    def _entity(self):
        if self.params["user"]:
            return "u", self.params["user"]
        if self.group is not None:
            return "g", self.group["group_name"]
        return "g", None  # a DN not imported yet: no member can name it

    def read(self):
        entity_type, name = self._entity()
        if name is None:
            return None
        for member in self.api.list_all(self._members_path(), {"entityname": name}):
            if member.get("entity_type") == entity_type and member.get("entity_name") == name:
                return member
        return None

    def view(self, existing):
        return {"role": ROLE_NAMES.get(existing["role_id"], str(existing["role_id"]))}

    def wanted(self):
        return {"role": self.params["role"]}

    def create(self, after):
        body = {"role_id": role_id(after["role"])}
        if self.params["user"]:
            body["member_user"] = {"username": self.params["user"]}
        else:
            if self.group is None:
                self.group = self._import_ldap_group(self.params["group"])
            body["member_group"] = {"id": self.group["id"]}
        self.api.post(self._members_path(), body)

    def _import_ldap_group(self, dn):
        """An LDAP group named by a DN the registry does not know yet: import it (the
        registry checks the DN in the directory), named after the DN's first value."""
        if "=" not in dn:
            raise HarborError("group %r does not exist (give an LDAP group's DN to import it)"
                              % dn)
        name = dn.split(",", 1)[0].split("=", 1)[1].strip()
        self.api.post("/usergroups", {"group_name": name, "group_type": 1, "ldap_group_dn": dn})
        found = self._find_group(dn)
        if found is None:
            raise HarborError("the LDAP group %r was imported but cannot be found" % dn)
        return found

    def update(self, existing, after, changed):
        self.api.put("%s/%d" % (self._members_path(), existing["id"]),
                     {"role_id": role_id(after["role"])})

    def delete(self, existing):
        self.api.delete("%s/%d" % (self._members_path(), existing["id"]))


def main():
    ProjectMember().execute()


if __name__ == "__main__":
    main()
