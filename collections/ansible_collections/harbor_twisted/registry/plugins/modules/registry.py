#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: registry
short_description: Manage a replication endpoint (a remote registry) of Harbor
version_added: 0.1.0
description:
  - Create, update or delete a replication endpoint through Harbor's REST API v2.0.
  - The endpoint's secret is write-only; see I(update_secret).
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.CHECK_MODE
options:
  name:
    description: The endpoint's name.
    type: str
    required: true
  state:
    description: Whether the endpoint exists. One that replication policies use cannot be deleted.
    type: str
    choices: [present, absent]
    default: present
  endpoint_url:
    description: The remote registry's URL. Required to create the endpoint.
    type: str
  type:
    description: The remote registry's kind, for example C(harbor) or C(docker-registry).
    type: str
  description:
    description: Free text.
    type: str
  insecure:
    description: Whether to skip verifying the remote's TLS certificate.
    type: bool
  access_key:
    description: The user (or key) to authenticate to the remote with.
    type: str
  access_secret:
    description: Its password or secret. Write-only; see I(update_secret).
    type: str
  update_secret:
    description:
      - C(on_create) sends I(access_secret) only when the endpoint is created (it cannot be
        read back to compare); C(always) sends it on every run, which then reports a change.
    type: str
    choices: [on_create, always]
    default: on_create
"""

EXAMPLES = r"""
- name: The central registry as a replication endpoint
  harbor_twisted.registry.registry:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    name: central
    endpoint_url: https://central.example.com
    type: harbor
    access_key: replicator
    access_secret: "{{ vault_central_password }}"
"""

RETURN = r"""
registry:
  description: The endpoint's managed fields after the task (empty when absent; never the secret).
  returned: always
  type: dict
  sample: {"endpoint_url": "https://central.example.com", "type": "harbor", "description": "",
           "insecure": false, "access_key": "replicator", "id": 1}
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.harbor import HarborError
from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import (
    UPDATE_SECRET_SPEC,
    ObjectModule,
)


class Registry(ObjectModule):
    kind = "registry"
    path = "/registries"
    result_ids = (("id", "id"),)
    secrets = ("access_secret",)
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        endpoint_url=dict(type="str"),
        type=dict(type="str"),
        description=dict(type="str"),
        insecure=dict(type="bool"),
        access_key=dict(type="str", no_log=False),
        access_secret=dict(type="str", no_log=True),
        update_secret=UPDATE_SECRET_SPEC,
    )
    defaults = {"type": "harbor", "description": "", "insecure": False, "access_key": ""}

    def read(self):
        return self.api.find_by_name("/registries", self.params["name"])

    def view(self, existing):
        credential = existing.get("credential") or {}
        return {"endpoint_url": existing["url"], "type": existing["type"],
                "description": existing.get("description") or "",
                "insecure": bool(existing.get("insecure")),
                "access_key": credential.get("access_key") or ""}

    def wanted(self):
        url = self.params["endpoint_url"]
        return {"endpoint_url": url.rstrip("/") if url else url, "type": self.params["type"],
                "description": self.params["description"], "insecure": self.params["insecure"],
                "access_key": self.params["access_key"]}

    def validate(self):
        if self.params["state"] == "present" and not self.params["endpoint_url"] \
                and self.read() is None:
            raise HarborError("endpoint_url is required to create endpoint %r" % self.params["name"])

    def body(self, after, existing=None):
        credential = {"type": "basic", "access_key": after["access_key"]}
        if "access_secret" in after:
            credential["access_secret"] = after["access_secret"]
        return {"name": self.params["name"], "url": after["endpoint_url"], "type": after["type"],
                "description": after["description"], "insecure": after["insecure"],
                "credential": credential}


def main():
    Registry().execute()


if __name__ == "__main__":
    main()
