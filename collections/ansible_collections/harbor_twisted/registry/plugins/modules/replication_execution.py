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
attributes:
  check_mode:
    description: Reports the execution it would start without starting it.
    support: full
  diff_mode:
    description: No diff.
    support: none
options:
  policy:
    description: The replication policy's name.
    type: str
    required: true
  wait:
    description: Wait until the execution ends; fail when it failed.
    type: bool
    default: false
  wait_timeout:
    description: How many seconds to wait at most.
    type: int
    default: 600
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

from ansible_collections.harbor_twisted.registry.plugins.module_utils.harbor import (
    FINISHED,
    SUCCEEDED,
    HarborError,
)
from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import (
    WAIT_SPEC,
    HarborModule,
    wait_until_done,
)


class ReplicationExecution(HarborModule):
    argument_spec = dict(policy=dict(type="str", required=True), **WAIT_SPEC)

    def run(self):
        policy = self.api.find_by_name("/replication/policies", self.params["policy"])
        if policy is None:
            raise HarborError("replication policy %r does not exist" % self.params["policy"])
        if self.module.check_mode:
            return dict(changed=True, execution={})
        execution_id = self.api.post("/replication/executions", {"policy_id": policy["id"]})
        path = "/replication/executions/%d" % execution_id
        execution = self.api.get(path)
        if self.params["wait"]:
            execution = wait_until_done(lambda: self.api.get(path),
                                        lambda e: e.get("status") in FINISHED,
                                        self.params["wait_timeout"])
            if execution.get("status") not in SUCCEEDED:
                raise HarborError("replication execution %d ended %s: %s" % (
                    execution_id, execution.get("status"), execution.get("status_text", "")),
                    changed=True)
        return dict(changed=True, execution=execution)


def main():
    ReplicationExecution().execute()


if __name__ == "__main__":
    main()
