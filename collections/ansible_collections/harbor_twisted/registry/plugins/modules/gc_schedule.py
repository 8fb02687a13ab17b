#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: gc_schedule
short_description: Set Harbor's garbage collection schedule
version_added: 0.1.0
description:
  - Read, compare and set the schedule of garbage collection through Harbor's REST API v2.0.
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.CHECK_MODE
options:
  schedule:
    description:
      - C(Hourly), C(Daily), C(Weekly), a cron expression of six fields (seconds first),
        or C(None) (or an empty string) for no schedule.
    type: str
    required: true
  delete_untagged:
    description: Whether scheduled runs also delete untagged artifacts.
    type: bool
  workers:
    description: How many workers a scheduled run uses.
    type: int
"""

EXAMPLES = r"""
- name: Collect garbage every Sunday at 03:00
  harbor_twisted.registry.gc_schedule:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    schedule: "0 0 3 * * 0"
    delete_untagged: true
"""

RETURN = r"""
schedule:
  description: The schedule after the task.
  returned: always
  type: dict
  sample: {"schedule": "Daily", "delete_untagged": false, "workers": 1}
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.compare import normalize_cron
from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import ObjectModule

PRESETS = ("Hourly", "Daily", "Weekly")
PATH = "/system/gc/schedule"


def schedule_text(given):
    """The schedule as the module shows it: a preset, ``None``, or a cron expression."""
    text = normalize_cron(given)
    if text.lower() in ("", "none"):
        return "None"
    for preset in PRESETS:
        if text.lower() == preset.lower():
            return preset
    return text


class GcSchedule(ObjectModule):
    kind = "schedule"
    has_state = False
    argument_spec = dict(
        schedule=dict(type="str", required=True),
        delete_untagged=dict(type="bool"),
        workers=dict(type="int"),
    )

    def read(self):
        return self.api.get(PATH)

    def view(self, existing):
        schedule = existing.get("schedule") or {}
        kind = schedule.get("type") or "None"
        parameters = existing.get("parameters") or {}
        text = schedule.get("cron", "") if kind == "Custom" else kind
        if kind == "None":
            return {"schedule": "None"}
        return {"schedule": normalize_cron(text),
                "delete_untagged": bool(parameters.get("delete_untagged", False)),
                "workers": int(parameters.get("workers", 1))}

    def wanted(self):
        text = schedule_text(self.params["schedule"])
        if text == "None":
            return {"schedule": "None", "delete_untagged": None, "workers": None}
        return {"schedule": text, "delete_untagged": self.params["delete_untagged"],
                "workers": self.params["workers"]}

    def update(self, existing, after, changed):
        text = after["schedule"]
        if text == "None":
            after = {"schedule": "None"}
        kind = text if text in PRESETS or text == "None" else "Custom"
        self.api.put(PATH, {
            "schedule": {"type": kind, "cron": text if kind == "Custom" else ""},
            "parameters": {"delete_untagged": after.get("delete_untagged", False),
                           "dry_run": False, "workers": after.get("workers", 1)}})


def main():
    GcSchedule().execute()


if __name__ == "__main__":
    main()
