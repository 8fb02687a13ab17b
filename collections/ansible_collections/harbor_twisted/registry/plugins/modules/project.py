#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: project
short_description: Manage a project of a Harbor registry
version_added: 0.1.0
description:
  - Create, update or delete a project through Harbor's REST API v2.0.
  - Only the fields given are managed; the others are left as they are.
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.CHECK_MODE
options:
  name:
    description: The project's name.
    type: str
    required: true
  state:
    description: Whether the project exists. A project that holds repositories cannot be deleted.
    type: str
    choices: [present, absent]
    default: present
  public:
    description: Whether anyone may pull from the project (the C(public) metadata key).
    type: bool
  metadata:
    description:
      - Other metadata keys and their values, for example C(auto_scan), C(prevent_vul), C(severity).
      - Only the keys given are managed. Booleans are stored as C(true) or C(false).
    type: dict
  storage_limit:
    description: The project's storage quota in bytes; C(-1) for none.
    type: int
"""

EXAMPLES = r"""
- name: A public project with a 10 GiB quota
  harbor_twisted.registry.project:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    name: library
    public: true
    storage_limit: 10737418240

- name: No project named old
  harbor_twisted.registry.project:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    name: old
    state: absent
"""

RETURN = r"""
project:
  description: The project's managed fields after the task (empty when absent).
  returned: always
  type: dict
  sample: {"public": true, "metadata": {"auto_scan": "false"}, "storage_limit": -1, "project_id": 3}
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.harbor import path_part
from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import ObjectModule

_BY_NAME = {"X-Is-Resource-Name": "true"}


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return text.lower() if text.lower() in ("true", "false") else text


class Project(ObjectModule):
    kind = "project"
    result_ids = (("project_id", "project_id"),)
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        public=dict(type="bool"),
        metadata=dict(type="dict"),
        storage_limit=dict(type="int"),
    )
    defaults = {"public": False, "metadata": {}, "storage_limit": -1}

    def _path(self):
        return "/projects/" + path_part(self.params["name"])

    def _quota(self, project_id):
        found = self.api.get("/quotas", {"reference": "project", "reference_id": project_id})
        return found[0] if found else None

    def read(self):
        return self.api.project(self.params["name"])

    def view(self, existing):
        metadata = dict(existing.get("metadata") or {})
        public = metadata.pop("public", "false") == "true"
        view = {"public": public, "metadata": metadata}
        if self.params["storage_limit"] is not None:
            # read only when managed: Harbor answers quotas only where they are enabled
            quota = self._quota(existing["project_id"])
            view["storage_limit"] = quota["hard"]["storage"] if quota else -1
        return view

    def wanted(self):
        metadata = self.params["metadata"]
        if metadata is not None:
            metadata = dict((k, _text(v)) for k, v in metadata.items() if k != "public")
        return {"public": self.params["public"], "metadata": metadata,
                "storage_limit": self.params["storage_limit"]}

    @staticmethod
    def _metadata_body(after):
        body = dict(after["metadata"])
        body["public"] = _text(after["public"])
        return body

    def create(self, after):
        body = {"project_name": self.params["name"], "metadata": self._metadata_body(after)}
        if self.params["storage_limit"] is not None:
            body["storage_limit"] = after["storage_limit"]
        self.api.post("/projects", body)

    def update(self, existing, after, changed):
        if "public" in changed or "metadata" in changed:
            self.api.call("PUT", self._path(), body={"metadata": self._metadata_body(after)},
                          headers=_BY_NAME)
        if "storage_limit" in changed:
            quota = self._quota(existing["project_id"])
            self.api.put("/quotas/%d" % quota["id"], {"hard": {"storage": after["storage_limit"]}})

    def delete(self, existing):
        self.api.call("DELETE", self._path(), headers=_BY_NAME)


def main():
    Project().execute()


if __name__ == "__main__":
    main()
