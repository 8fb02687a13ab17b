#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: immutable_rule
short_description: Manage a tag immutability rule of a Harbor project
version_added: 0.1.0
description:
  - Create, enable, disable or delete a tag immutability rule through Harbor's REST API v2.0.
  - A rule has no name; it is identified by its project and its selectors.
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.CHECK_MODE
options:
  project:
    description: The project's name.
    type: str
    required: true
  repositories:
    description: Pattern of the repositories (without the project) the rule covers.
    type: str
    default: "**"
  repositories_decoration:
    description: Whether the rule covers the matching repositories or all others.
    type: str
    choices: [repoMatches, repoExcludes]
    default: repoMatches
  tags:
    description: Pattern of the tags the rule makes immutable.
    type: str
    default: "**"
  tags_decoration:
    description: Whether the rule covers the matching tags or all others.
    type: str
    choices: [matches, excludes]
    default: matches
  untagged:
    description: Stored with the tag selector, as Harbor's portal does.
    type: bool
    default: false
  disabled:
    description: Whether the rule is disabled.
    type: bool
  state:
    description: Whether the rule exists.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Release tags of the project prod never move
  harbor_twisted.registry.immutable_rule:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    project: prod
    tags: "v*"
"""

RETURN = r"""
rule:
  description: The rule's fields after the task (empty when absent).
  returned: always
  type: dict
  sample: {"repositories": "**", "tags": "v*", "disabled": false, "id": 4}
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.harbor import path_part
from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import ObjectModule
from ansible_collections.harbor_twisted.registry.plugins.module_utils.selectors import (
    SELECTOR_OPTIONS,
    flat,
    nested,
)

SELECTORS = tuple(SELECTOR_OPTIONS)


class ImmutableRule(ObjectModule):
    kind = "rule"
    argument_spec = dict(
        project=dict(type="str", required=True),
        disabled=dict(type="bool"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        **dict((k, dict(v)) for k, v in SELECTOR_OPTIONS.items())
    )
    argument_spec["untagged"]["default"] = False
    defaults = {"disabled": False}

    def validate(self):
        self.api.project_required(self.params["project"])

    def collection(self):
        return "/projects/%s/immutabletagrules" % path_part(self.params["project"])

    def _selectors(self):
        return dict((k, self.params[k]) for k in SELECTORS)

    def read(self):
        wanted = self._selectors()
        for rule in self.api.list_all(self.collection()):
            if flat(rule) == wanted:
                return rule
        return None

    def view(self, existing):
        return {"disabled": bool(existing.get("disabled"))}

    def wanted(self):
        return {"disabled": self.params["disabled"]}

    def body(self, after, existing=None):
        body = dict(nested(self._selectors()), disabled=after["disabled"], action="immutable",
                    template="immutable_template")
        if existing is not None:
            body.update(id=existing["id"], priority=existing.get("priority", 0))
        return body

    def result_object(self, existing, after):
        shown = self._selectors()
        shown.update(self.view(existing) if existing is not None else after)
        if existing is not None:
            shown["id"] = existing["id"]
        return shown


def main():
    ImmutableRule().execute()


if __name__ == "__main__":
    main()
