#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: robot
short_description: Manage a robot account of Harbor
version_added: 0.1.0
description:
  - Create, update or delete a robot account through Harbor's REST API v2.0.
  - A robot with I(project) is a project robot; without, a system robot whose
    I(permissions) name projects.
  - The secret is returned once, when the robot is created or its secret refreshed, never
    on a rerun.
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.CHECK_MODE
options:
  name:
    description: The robot's short name (the registry adds its prefix and project).
    type: str
    required: true
  project:
    description: The project of a project robot.
    type: str
  state:
    description: Whether the robot exists.
    type: str
    choices: [present, absent]
    default: present
  description:
    description: Free text.
    type: str
  duration:
    description: Days until the robot expires; C(-1) never, C(0) the registry's default.
    type: int
  disable:
    description: Whether the robot is disabled.
    type: bool
  access:
    description:
      - For a project robot, what it may do in its project, for example a I(resource)
        C(repository) with the I(action) C(push). Required to create a project robot.
    type: list
    elements: dict
    suboptions:
      resource:
        description: The resource, for example C(repository), C(artifact), C(tag).
        type: str
        required: true
      action:
        description: The action, for example C(pull), C(push), C(list), C(delete).
        type: str
        required: true
  permissions:
    description: For a system robot, its access per project (or C(*) for every project).
    type: list
    elements: dict
    suboptions:
      project:
        description: The project's name, or C(*).
        type: str
        required: true
      access:
        description: What the robot may do there.
        type: list
        elements: dict
        required: true
  secret:
    description:
      - A chosen secret (8 to 128 characters with upper and lower case letters and a digit).
        Without one the registry generates a secret, which the task returns once.
    type: str
  update_secret:
    description:
      - C(on_create) sets the secret only when the robot is created; C(always) sets it (the
        chosen one, or a newly generated one) on every run.
    type: str
    choices: [on_create, always]
    default: on_create
"""

EXAMPLES = r"""
- name: A robot that pushes to the project ci
  harbor_twisted.registry.robot:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    name: builder
    project: ci
    duration: -1
    access:
      - {resource: repository, action: pull}
      - {resource: repository, action: push}
  register: builder

- name: Keep the generated secret (only set on creation)
  ansible.builtin.copy:
    content: "{{ builder.secret }}"
    dest: /etc/ci/robot-secret
    mode: "0600"
  when: builder.secret is defined
"""

RETURN = r"""
robot:
  description: The robot's managed fields after the task (empty when absent).
  returned: always
  type: dict
  sample: {"full_name": "robot$ci+builder", "duration": -1, "disable": false, "description": "", "id": 7}
secret:
  description: The secret the registry generated, when it generated one in this task.
  returned: when a robot was created or its secret refreshed without a chosen I(secret)
  type: str
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.harbor import HarborError
from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import (
    UPDATE_SECRET_SPEC,
    ObjectModule,
)

ACCESS_SPEC = dict(resource=dict(type="str", required=True),
                   action=dict(type="str", required=True))


def _access(items):
    return sorted((dict(resource=a["resource"], action=a["action"]) for a in items or []),
                  key=lambda a: (a["resource"], a["action"]))


def _permissions(items):
    return sorted((dict(project=p["project"], access=_access(p["access"])) for p in items),
                  key=lambda p: p["project"])


class Robot(ObjectModule):
    kind = "robot"
    path = "/robots"
    result_ids = (("id", "id"), ("full_name", "name"))
    secrets = ("secret",)
    argument_spec = dict(
        name=dict(type="str", required=True),
        project=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        description=dict(type="str"),
        duration=dict(type="int"),
        disable=dict(type="bool"),
        access=dict(type="list", elements="dict", options=ACCESS_SPEC),
        permissions=dict(type="list", elements="dict", options=dict(
            project=dict(type="str", required=True),
            access=dict(type="list", elements="dict", required=True))),
        secret=dict(type="str", no_log=True),
        update_secret=UPDATE_SECRET_SPEC,
    )
    module_kwargs = dict(mutually_exclusive=[("project", "permissions"), ("access", "permissions")])
    defaults = {"description": "", "duration": -1, "disable": False, "permissions": []}

    def _tail(self):
        project = self.params["project"]
        return "%s+%s" % (project, self.params["name"]) if project else self.params["name"]

    def validate(self):
        if self.params["state"] == "absent":
            return
        project = self.params["project"]
        if project:
            self.api.project_required(project)
        for permission in self.params["permissions"] or []:
            if permission["project"] != "*":
                self.api.project_required(permission["project"])
            for item in permission["access"]:
                if not isinstance(item, dict) or set(item) != {"resource", "action"}:
                    raise HarborError("each access of permissions names resource and action")
        if self.read() is None and not (self.params["access"] or self.params["permissions"]):
            raise HarborError("creating robot %r needs %s" % (
                self.params["name"], "access" if project else "permissions"))

    def read(self):
        tail = self._tail()
        level = "project" if self.params["project"] else "system"
        query = {"q": "Level=system"}
        if self.params["project"]:
            project = self.api.project(self.params["project"])
            if project is None:
                return None
            query = {"q": "Level=project,ProjectID=%d" % project["project_id"]}
        for robot in self.api.list_all("/robots", query):
            name = robot.get("name", "")
            prefix = name[:-len(tail)]
            if robot.get("level") == level and name.endswith(tail) and prefix \
                    and "+" not in prefix and not prefix[-1].isalnum():
                return robot
        return None

    def view(self, existing):
        permissions = [dict(project=p["namespace"], access=_access(p.get("access")))
                       for p in existing.get("permissions") or []]
        return {"description": existing.get("description") or "",
                "duration": existing.get("duration"), "disable": bool(existing.get("disable")),
                "permissions": _permissions(permissions)}

    def wanted(self):
        permissions = None
        if self.params["access"] is not None:
            permissions = [dict(project=self.params["project"],
                                access=_access(self.params["access"]))]
        elif self.params["permissions"] is not None:
            permissions = _permissions(self.params["permissions"])
        return {"description": self.params["description"], "duration": self.params["duration"],
                "disable": self.params["disable"], "permissions": permissions}

    def secret_changes(self, exists):
        if exists and self.params["update_secret"] != "always":
            return {}
        return {"secret": self.params["secret"] or ""}  # "" asks for a generated one

    def body(self, after, existing=None):
        return {"name": self.params["name"],
                "level": "project" if self.params["project"] else "system",
                "description": after["description"], "duration": after["duration"],
                "disable": after["disable"],
                "permissions": [{"kind": "project", "namespace": p["project"],
                                 "access": [dict(a, effect="allow") for a in p["access"]]}
                                for p in after["permissions"]]}

    def _set_secret(self, robot_id, chosen):
        answer = self.api.call("PATCH", "/robots/%d" % robot_id,
                               body={"secret": chosen} if chosen else {})[1] or {}
        return {} if chosen else {"secret": answer.get("secret")}

    def create(self, after):
        created = self.api.post_answer("/robots", self.body(after))
        if after.get("secret"):
            return self._set_secret(created["id"], after["secret"])
        return {"secret": created["secret"]}

    def update(self, existing, after, changed):
        if set(changed) - {"secret"}:
            self.api.put(self.item_path(existing), self.body(after))
        if "secret" in changed:
            return self._set_secret(existing["id"], after.get("secret"))
        return {}


def main():
    Robot().execute()


if __name__ == "__main__":
    main()
