#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: user_info
short_description: List Harbor users or read one
version_added: 0.1.0
description:
  - Read one user by username, or list every user (system administrators only).
  - Reads only; never reports a change.
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.INFO
options:
  name:
    description: The username; without it, every user.
    type: str
"""

EXAMPLES = r"""
- name: The user ci
  harbor_twisted.registry.user_info:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    name: ci
  register: found
"""

RETURN = r"""
users:
  description: The users in Harbor's C(UserResp) shape (never a password).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import InfoModule


class UserInfo(InfoModule):
    argument_spec = dict(name=dict(type="str"))
    key = "users"

    def one(self, value):
        return self.api.user(value)

    def every(self):
        return self.api.list_all("/users")


def main():
    UserInfo().execute()


if __name__ == "__main__":
    main()
