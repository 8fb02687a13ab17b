#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: retention_policy
short_description: Manage the tag retention policy of a Harbor project
version_added: 0.1.0
description:
  - A project has at most one retention policy; this module sets its whole rule list and
    schedule, or deletes it, through Harbor's REST API v2.0.
  - An artifact is kept when any rule retains it; the others are deleted when the policy runs.
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.CHECK_MODE
options:
  project:
    description: The project's name.
    type: str
    required: true
  state:
    description: Whether the project has a retention policy.
    type: str
    choices: [present, absent]
    default: present
  schedule:
    description: When the policy runs (six cron fields, seconds first); empty for never.
    type: str
  rules:
    description: The whole list of rules (at most 15).
    type: list
    elements: dict
    suboptions:
      template:
        description: What the rule retains.
        type: str
        required: true
        choices: [latestPushedK, latestPulledN, nDaysSinceLastPush, nDaysSinceLastPull, always]
      count:
        description: The number of artifacts or days of the template (not for C(always)).
        type: int
      disabled:
        description: Whether the rule is disabled.
        type: bool
        default: false
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
        description: Pattern of the tags the rule covers.
        type: str
        default: "**"
      tags_decoration:
        description: Whether the rule covers the matching tags or all others.
        type: str
        choices: [matches, excludes]
        default: matches
      untagged:
        description: Whether untagged artifacts are covered too.
        type: bool
        default: true
"""

EXAMPLES = r"""
- name: Keep the 10 most recent artifacts of every repository of ci, cleaned daily
  harbor_twisted.registry.retention_policy:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    project: ci
    schedule: "0 0 1 * * *"
    rules:
      - template: latestPushedK
        count: 10
"""

RETURN = r"""
policy:
  description: The policy's managed fields after the task (empty when absent).
  returned: always
  type: dict
  sample: {"schedule": "0 0 1 * * *", "rules": [{"template": "latestPushedK", "count": 10}], "id": 1}
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.compare import normalize_cron
from ansible_collections.harbor_twisted.registry.plugins.module_utils.harbor import HarborError
from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import ObjectModule
from ansible_collections.harbor_twisted.registry.plugins.module_utils.selectors import (
    SELECTOR_OPTIONS,
    flat,
    nested,
)

RULE_SPEC = dict(
    template=dict(type="str", required=True, choices=[
        "latestPushedK", "latestPulledN", "nDaysSinceLastPush", "nDaysSinceLastPull", "always"]),
    count=dict(type="int"),
    disabled=dict(type="bool", default=False),
    **dict((k, dict(v)) for k, v in SELECTOR_OPTIONS.items())
)


def _rule_view(rule):
    view = dict(flat(rule), template=rule["template"], disabled=bool(rule.get("disabled")))
    params = rule.get("params") or {}
    view["count"] = params.get(rule["template"]) if rule["template"] != "always" else None
    return view


class RetentionPolicy(ObjectModule):
    kind = "policy"
    path = "/retentions"
    result_ids = (("id", "id"),)
    argument_spec = dict(
        project=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        schedule=dict(type="str"),
        rules=dict(type="list", elements="dict", options=RULE_SPEC),
    )
    defaults = {"schedule": "", "rules": []}

    def validate(self):
        self.project = self.api.project_required(self.params["project"])
        for rule in self.params["rules"] or []:
            if rule["template"] != "always" and rule["count"] is None:
                raise HarborError("a %s rule needs count" % rule["template"])

    def read(self):
        policy_id = (self.project.get("metadata") or {}).get("retention_id")
        if not policy_id:
            return None
        return self.api.get("/retentions/%s" % policy_id, missing_ok=True)

    def view(self, existing):
        trigger = existing.get("trigger") or {}
        return {"schedule": normalize_cron((trigger.get("settings") or {}).get("cron", "")),
                "rules": [_rule_view(r) for r in existing.get("rules") or []]}

    def wanted(self):
        rules = self.params["rules"]
        if rules is not None:
            rules = [dict(r, count=None if r["template"] == "always" else r["count"])
                     for r in rules]
        schedule = self.params["schedule"]
        return {"schedule": None if schedule is None else normalize_cron(schedule),
                "rules": rules}

    def body(self, after, existing=None):
        rules = []
        for number, rule in enumerate(after["rules"], 1):
            params = {} if rule["template"] == "always" else {rule["template"]: rule["count"]}
            rules.append(dict(nested(rule), id=number, priority=0, disabled=rule["disabled"],
                              action="retain", template=rule["template"], params=params))
        return {"algorithm": "or", "rules": rules,
                "scope": {"level": "project", "ref": self.project["project_id"]},
                "trigger": {"kind": "Schedule", "settings": {"cron": after["schedule"]}}}

    def create(self, after):
        self.api.post(self.path, self.body(after))
        self.project = self.api.project_required(self.params["project"])


def main():
    RetentionPolicy().execute()


if __name__ == "__main__":
    main()
