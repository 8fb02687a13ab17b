#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: user
short_description: Manage a local user of Harbor (database authentication)
version_added: 0.1.0
description:
  - Create, update or delete a user through Harbor's REST API v2.0.
  - Users of LDAP or OIDC are made by their first login; use this module in database mode.
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.CHECK_MODE
options:
  name:
    description: The username.
    type: str
    required: true
  state:
    description: Whether the user exists.
    type: str
    choices: [present, absent]
    default: present
  email:
    description: The user's e-mail address. Required to create the user.
    type: str
  realname:
    description: The user's full name.
    type: str
  comment:
    description: Free text.
    type: str
  sysadmin:
    description: Whether the user is a system administrator.
    type: bool
  user_password:
    description:
      - The user's password. Required to create the user. Write-only; see I(update_secret).
    type: str
  update_secret:
    description:
      - C(on_create) sets I(user_password) only when the user is created; C(always) on every
        run (which then reports a change).
    type: str
    choices: [on_create, always]
    default: on_create
"""

EXAMPLES = r"""
- name: A local user
  harbor_twisted.registry.user:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    name: ci
    email: ci@example.com
    user_password: "{{ vault_ci_password }}"
"""

RETURN = r"""
user:
  description: The user's managed fields after the task (empty when absent).
  returned: always
  type: dict
  sample: {"email": "ci@example.com", "realname": "ci", "comment": "", "sysadmin": false, "user_id": 5}
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.harbor import HarborError
from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import (
    UPDATE_SECRET_SPEC,
    ObjectModule,
)

PROFILE = ("email", "realname", "comment")


class User(ObjectModule):
    kind = "user"
    result_ids = (("user_id", "user_id"),)
    secrets = ("user_password",)
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        email=dict(type="str"),
        realname=dict(type="str"),
        comment=dict(type="str"),
        sysadmin=dict(type="bool"),
        user_password=dict(type="str", no_log=True),
        update_secret=UPDATE_SECRET_SPEC,
    )
    defaults = {"email": "", "realname": "", "comment": "", "sysadmin": False}

    def read(self):
        return self.api.user(self.params["name"])

    def validate(self):
        if self.params["state"] == "present" and self.read() is None:
            missing = [k for k in ("email", "user_password") if not self.params[k]]
            if missing:
                raise HarborError("creating user %r needs %s"
                                  % (self.params["name"], " and ".join(missing)))

    def view(self, existing):
        found = dict((k, existing.get(k) or "") for k in PROFILE)
        found["sysadmin"] = bool(existing.get("sysadmin_flag"))
        return found

    def wanted(self):
        return dict((k, self.params[k]) for k in PROFILE + ("sysadmin",))

    def create(self, after):
        user_id = self.api.post("/users", {
            "username": self.params["name"], "email": after["email"],
            "realname": after["realname"] or self.params["name"], "comment": after["comment"],
            "password": after["user_password"]})
        if after["sysadmin"]:
            self.api.put("/users/%d/sysadmin" % user_id, {"sysadmin_flag": True})

    def update(self, existing, after, changed):
        user_id = existing["user_id"]
        if set(changed) & set(PROFILE):
            self.api.put("/users/%d" % user_id, dict((k, after[k]) for k in PROFILE))
        if "sysadmin" in changed:
            self.api.put("/users/%d/sysadmin" % user_id, {"sysadmin_flag": after["sysadmin"]})
        if "user_password" in changed:
            self.api.put("/users/%d/password" % user_id,
                         {"new_password": after["user_password"]})

    def delete(self, existing):
        self.api.delete("/users/%d" % existing["user_id"])


def main():
    User().execute()


if __name__ == "__main__":
    main()
