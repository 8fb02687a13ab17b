#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: replication_execution_info
short_description: List the executions of Harbor's replication policies
version_added: 0.1.0
description:
  - Read one execution by id, or list the executions of one policy or of all.
  - Reads only; never reports a change.
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.INFO
options:
  policy:
    description: The replication policy's name; without it, the executions of every policy.
    type: str
  id:
    description: One execution's id.
    type: int
"""

EXAMPLES = r"""
- name: The executions of library-to-central
  harbor_twisted.registry.replication_execution_info:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    policy: library-to-central
  register: found
"""

RETURN = r"""
executions:
  description: The executions in Harbor's C(ReplicationExecution) shape, newest first.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import InfoModule


class ReplicationExecutionInfo(InfoModule):
    argument_spec = dict(policy=dict(type="str"), id=dict(type="int"))
    key = "executions"
    selector = "id"

    def one(self, value):
        return self.api.get("/replication/executions/%d" % value, missing_ok=True)

    def every(self):
        query = {}
        if self.params["policy"]:
            query["policy_id"] = self.api.replication_policy_required(self.params["policy"])["id"]
        return self.api.list_all("/replication/executions", query)


def main():
    ReplicationExecutionInfo().execute()


if __name__ == "__main__":
    main()
