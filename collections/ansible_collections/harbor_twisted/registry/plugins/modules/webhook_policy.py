#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: webhook_policy
short_description: Manage a webhook policy of a Harbor project
version_added: 0.1.0
description:
  - Create, update or delete a project's webhook policy through Harbor's REST API v2.0.
  - A target's I(auth_header) is write-only; see I(update_secret).
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.CHECK_MODE
options:
  project:
    description: The project's name.
    type: str
    required: true
  name:
    description: The policy's name, unique in the project.
    type: str
    required: true
  state:
    description: Whether the policy exists.
    type: str
    choices: [present, absent]
    default: present
  description:
    description: Free text.
    type: str
  enabled:
    description: Whether the policy sends notifications.
    type: bool
  event_types:
    description:
      - The events that notify, for example C(PUSH_ARTIFACT), C(DELETE_ARTIFACT),
        C(REPLICATION). Required to create the policy.
    type: list
    elements: str
  targets:
    description: Where notifications go. Required to create the policy.
    type: list
    elements: dict
    suboptions:
      address:
        description: The receiver's URL.
        type: str
        required: true
      type:
        description: The receiver's kind.
        type: str
        choices: [http, slack]
        default: http
      skip_cert_verify:
        description: Whether to skip verifying the receiver's TLS certificate.
        type: bool
        default: false
      payload_format:
        description: C(Default) or C(CloudEvents) (http targets).
        type: str
        default: Default
      auth_header:
        description: The C(Authorization) header sent to the receiver. Write-only.
        type: str
  update_secret:
    description:
      - C(on_create) sends the targets' I(auth_header) only when the policy is created (a
        change keeps the stored ones); C(always) sends them on every run.
    type: str
    choices: [on_create, always]
    default: on_create
"""

EXAMPLES = r"""
- name: Tell the CI about every push to ci
  harbor_twisted.registry.webhook_policy:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    project: ci
    name: ci-pushes
    event_types: [PUSH_ARTIFACT]
    targets:
      - address: https://ci.example.com/hooks/registry
        auth_header: "Bearer {{ vault_ci_hook_token }}"
"""

RETURN = r"""
policy:
  description: The policy's managed fields after the task (empty when absent; never the headers).
  returned: always
  type: dict
  sample: {"enabled": true, "event_types": ["PUSH_ARTIFACT"], "targets": [{"address": "https://ci.example.com/hooks/registry"}], "id": 3}
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.harbor import (
    HarborError,
    path_part,
)
from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import (
    UPDATE_SECRET_SPEC,
    ObjectModule,
)

TARGET_SPEC = dict(
    address=dict(type="str", required=True),
    type=dict(type="str", default="http", choices=["http", "slack"]),
    skip_cert_verify=dict(type="bool", default=False),
    payload_format=dict(type="str", default="Default"),
    auth_header=dict(type="str", no_log=True),
)
TARGET_FIELDS = ("address", "type", "skip_cert_verify", "payload_format")


class WebhookPolicy(ObjectModule):
    kind = "policy"
    result_ids = (("id", "id"),)
    secrets = ("auth_headers",)
    argument_spec = dict(
        project=dict(type="str", required=True),
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        description=dict(type="str"),
        enabled=dict(type="bool"),
        event_types=dict(type="list", elements="str"),
        targets=dict(type="list", elements="dict", options=TARGET_SPEC),
        update_secret=UPDATE_SECRET_SPEC,
    )
    defaults = {"description": "", "enabled": True, "event_types": [], "targets": []}

    def validate(self):
        self.api.project_required(self.params["project"])
        if self.params["state"] == "present" and self.read() is None and not (
                self.params["event_types"] and self.params["targets"]):
            raise HarborError("creating webhook policy %r needs event_types and targets"
                              % self.params["name"])

    def collection(self):
        return "/projects/%s/webhook/policies" % path_part(self.params["project"])

    def read(self):
        for policy in self.api.list_all(self.collection(), {"q": "name=%s" % self.params["name"]}):
            if policy.get("name") == self.params["name"]:
                return policy
        return None

    def view(self, existing):
        return {"description": existing.get("description") or "",
                "enabled": bool(existing.get("enabled")),
                "event_types": sorted(existing.get("event_types") or []),
                "targets": [dict((k, t.get(k)) for k in TARGET_FIELDS)
                            for t in existing.get("targets") or []]}

    def wanted(self):
        targets = self.params["targets"]
        if targets is not None:
            targets = [dict((k, t[k]) for k in TARGET_FIELDS) for t in targets]
        events = self.params["event_types"]
        return {"description": self.params["description"], "enabled": self.params["enabled"],
                "event_types": None if events is None else sorted(set(events)),
                "targets": targets}

    def _headers(self):
        return [t.get("auth_header") for t in self.params["targets"] or []]

    def secret_changes(self, exists):
        if exists and (self.params["update_secret"] != "always" or not any(self._headers())):
            return {}
        return {"auth_headers": self._headers()} if any(self._headers()) else {}

    def body(self, after, existing=None):
        headers = after.get("auth_headers") or []
        targets = []
        for index, target in enumerate(after["targets"]):
            target = dict(target)
            if index < len(headers) and headers[index]:
                target["auth_header"] = headers[index]
            targets.append(target)
        return {"name": self.params["name"], "description": after["description"],
                "enabled": after["enabled"], "event_types": after["event_types"],
                "targets": targets}


def main():
    WebhookPolicy().execute()


if __name__ == "__main__":
    main()
