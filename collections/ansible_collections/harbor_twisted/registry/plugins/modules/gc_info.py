#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: gc_info
short_description: Read Harbor's garbage collection schedule and history
version_added: 0.1.0
description:
  - Read the garbage collection schedule and the runs, or one run by id.
  - Reads only; never reports a change.
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.INFO
options:
  id:
    description: One run's id; without it, every run.
    type: int
"""

EXAMPLES = r"""
- name: The schedule and the runs
  harbor_twisted.registry.gc_info:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
  register: found
"""

RETURN = r"""
schedule:
  description: The schedule in Harbor's C(GCHistory) schedule shape.
  returned: always
  type: dict
runs:
  description: The runs in Harbor's C(GCHistory) shape, newest first.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import InfoModule


class GcInfo(InfoModule):
    argument_spec = dict(id=dict(type="int"))
    key = "runs"
    selector = "id"

    def one(self, value):
        return self.api.get("/system/gc/%d" % value, missing_ok=True)

    def every(self):
        return self.api.list_all("/system/gc")

    def extra(self):
        return dict(schedule=self.api.get("/system/gc/schedule"))


def main():
    GcInfo().execute()


if __name__ == "__main__":
    main()
