#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: project_info
short_description: List Harbor projects or read one
version_added: 0.1.0
description:
  - Read one project by name, or list every project the user may see.
  - Reads only; never reports a change.
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.INFO
options:
  name:
    description: The project's name; without it, every project.
    type: str
"""

EXAMPLES = r"""
- name: Every project
  harbor_twisted.registry.project_info:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
  register: found
"""

RETURN = r"""
projects:
  description: The projects in Harbor's C(Project) shape (one or none with I(name)).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import InfoModule


class ProjectInfo(InfoModule):
    argument_spec = dict(name=dict(type="str"))
    key = "projects"

    def one(self, value):
        return self.api.project(value)

    def every(self):
        return self.api.list_all("/projects")


def main():
    ProjectInfo().execute()


if __name__ == "__main__":
    main()
