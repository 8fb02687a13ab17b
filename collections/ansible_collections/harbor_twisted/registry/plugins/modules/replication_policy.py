#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: replication_policy
short_description: Manage a replication policy of Harbor
version_added: 0.1.0
description:
  - Create, update or delete a replication policy through Harbor's REST API v2.0.
  - A push policy names I(dest_registry), a pull policy I(src_registry); the other side is
    this registry.
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.CHECK_MODE
options:
  name:
    description: The policy's name.
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
  src_registry:
    description: Name of the endpoint to pull from (see M(harbor_twisted.registry.registry)).
    type: str
  dest_registry:
    description: Name of the endpoint to push to.
    type: str
  dest_namespace:
    description: The namespace (project) to replicate into; empty keeps the source's.
    type: str
  dest_namespace_replace_count:
    description: How many leading path components of the source to replace; C(-1) all.
    type: int
  trigger:
    description: What starts the replication.
    type: str
    choices: [manual, scheduled, event_based]
  cron:
    description: The schedule (six fields, seconds first) when I(trigger=scheduled).
    type: str
  filters:
    description: Which resources to replicate.
    type: list
    elements: dict
    suboptions:
      type:
        description: What the filter looks at.
        type: str
        required: true
        choices: [name, tag, resource]
      value:
        description: The pattern (C(*), C(**), C(?), C({a,b})) or resource kind.
        type: str
        required: true
      decoration:
        description: Whether matching resources are kept or left out.
        type: str
        choices: [matches, excludes]
        default: matches
  replicate_deletion:
    description: Whether deletions are replicated too.
    type: bool
  override:
    description: Whether resources already at the destination are overwritten.
    type: bool
  enabled:
    description: Whether the policy may run.
    type: bool
  speed:
    description: Bandwidth limit in KB/s; C(-1) for none.
    type: int
"""

EXAMPLES = r"""
- name: Push the library project to central every night
  harbor_twisted.registry.replication_policy:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    name: library-to-central
    dest_registry: central
    trigger: scheduled
    cron: "0 0 2 * * *"
    filters:
      - type: name
        value: "library/**"
"""

RETURN = r"""
policy:
  description: The policy's managed fields after the task (empty when absent).
  returned: always
  type: dict
  sample: {"dest_registry": "central", "src_registry": "", "trigger": "manual", "id": 2}
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.compare import normalize_cron
from ansible_collections.harbor_twisted.registry.plugins.module_utils.harbor import HarborError
from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import ObjectModule

FILTER_SPEC = dict(
    type=dict(type="str", required=True, choices=["name", "tag", "resource"]),
    value=dict(type="str", required=True),
    decoration=dict(type="str", default="matches", choices=["matches", "excludes"]),
)


class ReplicationPolicy(ObjectModule):
    kind = "policy"
    path = "/replication/policies"
    result_ids = (("id", "id"),)
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        description=dict(type="str"),
        src_registry=dict(type="str"),
        dest_registry=dict(type="str"),
        dest_namespace=dict(type="str"),
        dest_namespace_replace_count=dict(type="int"),
        trigger=dict(type="str", choices=["manual", "scheduled", "event_based"]),
        cron=dict(type="str"),
        filters=dict(type="list", elements="dict", options=FILTER_SPEC),
        replicate_deletion=dict(type="bool"),
        override=dict(type="bool"),
        enabled=dict(type="bool"),
        speed=dict(type="int"),
    )
    module_kwargs = dict(mutually_exclusive=[("src_registry", "dest_registry")])
    defaults = {"description": "", "src_registry": "", "dest_registry": "",
                "dest_namespace": "", "dest_namespace_replace_count": -1, "trigger": "manual",
                "cron": "", "filters": [], "replicate_deletion": False, "override": True,
                "enabled": True, "speed": -1}

    def read(self):
        return self.api.find_by_name("/replication/policies", self.params["name"])

    def view(self, existing):
        trigger = existing.get("trigger") or {}
        settings = trigger.get("trigger_settings") or {}
        return {
            "description": existing.get("description") or "",
            "src_registry": (existing.get("src_registry") or {}).get("name") or "",
            "dest_registry": (existing.get("dest_registry") or {}).get("name") or "",
            "dest_namespace": existing.get("dest_namespace") or "",
            "dest_namespace_replace_count": existing.get("dest_namespace_replace_count", -1),
            "trigger": trigger.get("type") or "manual",
            "cron": normalize_cron(settings.get("cron", "")),
            "filters": [dict(type=f["type"], value=f.get("value", ""),
                             decoration=f.get("decoration") or "matches")
                        for f in existing.get("filters") or []],
            "replicate_deletion": bool(existing.get("replicate_deletion")),
            "override": bool(existing.get("override")),
            "enabled": bool(existing.get("enabled")),
            "speed": existing.get("speed", -1),
        }

    def wanted(self):
        p = self.params
        wanted = dict((k, p[k]) for k in self.defaults)
        if p["src_registry"] is not None:
            wanted["dest_registry"] = ""
        if p["dest_registry"] is not None:
            wanted["src_registry"] = ""
        if p["trigger"] is not None and p["trigger"] != "scheduled":
            wanted["cron"] = ""
        elif p["cron"] is not None:
            wanted["cron"] = normalize_cron(p["cron"])
        if p["filters"] is not None:
            wanted["filters"] = [dict(f) for f in p["filters"]]
        return wanted

    def validate(self):
        if self.params["state"] == "absent":
            return
        for key in ("src_registry", "dest_registry"):
            if self.params[key]:
                self.api.registry_id(self.params[key])
        if self.params["trigger"] == "scheduled" and not self.params["cron"]:
            raise HarborError("trigger scheduled needs cron")
        if not (self.params["src_registry"] or self.params["dest_registry"]) \
                and self.read() is None:
            raise HarborError("policy %r needs src_registry (pull) or dest_registry (push)"
                              % self.params["name"])

    def body(self, after, existing=None):
        def ref(name):
            return {"id": self.api.registry_id(name)} if name else None

        if not after["src_registry"] and not after["dest_registry"]:
            raise HarborError("policy %r needs src_registry (pull) or dest_registry (push)"
                              % self.params["name"])
        trigger = {"type": after["trigger"]}
        if after["trigger"] == "scheduled":
            trigger["trigger_settings"] = {"cron": after["cron"]}
        return {"name": self.params["name"], "description": after["description"],
                "src_registry": ref(after["src_registry"]),
                "dest_registry": ref(after["dest_registry"]),
                "dest_namespace": after["dest_namespace"],
                "dest_namespace_replace_count": after["dest_namespace_replace_count"],
                "trigger": trigger, "filters": after["filters"],
                "replicate_deletion": after["replicate_deletion"],
                "override": after["override"], "enabled": after["enabled"],
                "speed": after["speed"]}


def main():
    ReplicationPolicy().execute()


if __name__ == "__main__":
    main()
