#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: replication_execution
short_description: Start a replication of Harbor now
version_added: 0.1.0
description:
  - Start one execution of a replication policy through Harbor's REST API v2.0 and
    optionally wait for its end. Every run that starts one reports a change; check mode
    starts none.
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.ACTION
options:
  policy:
    description: The replication policy's name.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Replicate library to central now and wait
  harbor_twisted.registry.replication_execution:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    policy: library-to-central
    wait: true
"""

RETURN = r"""
execution:
  description: The execution as the registry reports it (status, counts, times); empty in check mode.
  returned: always
  type: dict
  sample: {"id": 9, "policy_id": 2, "status": "Success", "total": 3, "succeed": 3, "failed": 0}
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import (
    WAIT_SPEC,
    ActionModule,
)


class ReplicationExecution(ActionModule):
    argument_spec = dict(policy=dict(type="str", required=True), **WAIT_SPEC)
    key = "execution"
    label = "replication execution"

    def prepare(self):
        self.policy = self.api.replication_policy_required(self.params["policy"])

    def start(self):
        execution_id = self.api.post("/replication/executions", {"policy_id": self.policy["id"]})
        return "/replication/executions/%d" % execution_id


def main():
    ReplicationExecution().execute()


if __name__ == "__main__":
    main()
