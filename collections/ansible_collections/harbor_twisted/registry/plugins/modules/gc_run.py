#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: gc_run
short_description: Run Harbor's garbage collection now
version_added: 0.1.0
description:
  - Start a garbage collection (or a dry run) through Harbor's REST API v2.0 and optionally
    wait for its end. Every run that starts one reports a change; check mode starts none.
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.ACTION
options:
  dry_run:
    description: Only count what would be deleted.
    type: bool
    default: false
  delete_untagged:
    description: Also delete untagged artifacts.
    type: bool
    default: false
  workers:
    description: How many workers the run uses.
    type: int
    default: 1
"""

EXAMPLES = r"""
- name: A dry run, waited for
  harbor_twisted.registry.gc_run:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    dry_run: true
    wait: true
  register: gc
"""

RETURN = r"""
run:
  description: The run as the registry reports it (C(job_status), C(job_parameters), times); only its id in check mode.
  returned: always
  type: dict
  sample: {"id": 12, "job_status": "Success", "job_parameters": "{\"dry_run\": true, \"delete_untagged\": false, \"workers\": 1}"}
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import (
    WAIT_SPEC,
    ActionModule,
)


class GcRun(ActionModule):
    argument_spec = dict(
        dry_run=dict(type="bool", default=False),
        delete_untagged=dict(type="bool", default=False),
        workers=dict(type="int", default=1),
        **WAIT_SPEC
    )
    key = "run"
    label = "garbage collection"
    status_field = "job_status"
    message_field = "status_message"

    def start(self):
        parameters = dict((k, self.params[k]) for k in ("dry_run", "delete_untagged", "workers"))
        run_id = self.api.post("/system/gc/schedule", {
            "schedule": {"type": "Manual"}, "parameters": parameters})
        return "/system/gc/%d" % run_id


def main():
    GcRun().execute()


if __name__ == "__main__":
    main()
