#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: repository_info
short_description: List the repositories of a Harbor project or read one
version_added: 0.1.0
description:
  - Read one repository, or list the repositories of a project.
  - Reads only; never reports a change.
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.INFO
options:
  project:
    description: The project's name.
    type: str
    required: true
  name:
    description: The repository's name inside the project (without the project); without it, every repository.
    type: str
"""

EXAMPLES = r"""
- name: The repositories of library
  harbor_twisted.registry.repository_info:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    project: library
  register: found
"""

RETURN = r"""
repositories:
  description: The repositories in Harbor's C(Repository) shape.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.harbor import path_part
from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import InfoModule


def repository_path(project, name):
    """Repository names are percent-encoded twice in the path, as Harbor's clients do."""
    return "/projects/%s/repositories/%s" % (path_part(project), path_part(path_part(name)))


class RepositoryInfo(InfoModule):
    argument_spec = dict(project=dict(type="str", required=True), name=dict(type="str"))
    key = "repositories"

    def prepare(self):
        self.api.project_required(self.params["project"])

    def one(self, value):
        return self.api.get(repository_path(self.params["project"], value), missing_ok=True)

    def every(self):
        return self.api.list_all("/projects/%s/repositories" % path_part(self.params["project"]))


def main():
    RepositoryInfo().execute()


if __name__ == "__main__":
    main()
