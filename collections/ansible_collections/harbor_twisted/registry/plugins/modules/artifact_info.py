#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: artifact_info
short_description: List the artifacts of a Harbor repository or read one
version_added: 0.1.0
description:
  - Read one artifact by tag or digest, or list the artifacts of a repository.
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
  repository:
    description: The repository's name inside the project.
    type: str
    required: true
  reference:
    description: A tag or a digest; without it, every artifact.
    type: str
"""

EXAMPLES = r"""
- name: What the tag latest of library/app points at
  harbor_twisted.registry.artifact_info:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    project: library
    repository: app
    reference: latest
  register: found
"""

RETURN = r"""
artifacts:
  description: The artifacts in Harbor's C(Artifact) shape, with their tags.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.harbor import path_part
from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import InfoModule


class ArtifactInfo(InfoModule):
    argument_spec = dict(project=dict(type="str", required=True),
                         repository=dict(type="str", required=True),
                         reference=dict(type="str"))
    key = "artifacts"
    selector = "reference"
    query = {"with_tag": "true"}

    def prepare(self):
        self.api.project_required(self.params["project"])
        self.base = "/projects/%s/repositories/%s/artifacts" % (
            path_part(self.params["project"]), path_part(path_part(self.params["repository"])))

    def one(self, value):
        return self.api.get(self.base + "/" + path_part(value), self.query, missing_ok=True)

    def every(self):
        return self.api.list_all(self.base, self.query)


def main():
    ArtifactInfo().execute()


if __name__ == "__main__":
    main()
