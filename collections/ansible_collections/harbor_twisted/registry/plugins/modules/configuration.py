#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: configuration
short_description: Set Harbor's runtime settings
version_added: 0.1.0
description:
  - Compare and set the settings of C(/api/v2.0/configurations), for example
    C(project_creation_restriction), C(robot_token_duration), C(ldap_url).
  - Only the keys given are managed. A key the service's configuration file fixes cannot be
    changed here; the task fails and says so.
author: harbor-twisted maintainers (@harbor-twisted)
extends_documentation_fragment:
  - harbor_twisted.registry.connection
  - harbor_twisted.registry.connection.CHECK_MODE
options:
  settings:
    description: The settings to set, by key.
    type: dict
    required: true
  secret_settings:
    description:
      - Write-only settings (for example C(ldap_search_password)), which cannot be read back.
      - Sent only with I(update_secret=always) (a configuration is never created).
    type: dict
  update_secret:
    description: C(always) sends I(secret_settings) on every run, which then reports a change.
    type: str
    choices: [on_create, always]
    default: on_create
"""

EXAMPLES = r"""
- name: Only administrators create projects; robots last 30 days
  harbor_twisted.registry.configuration:
    url: https://registry.example.com
    password: "{{ vault_harbor_admin_password }}"
    settings:
      project_creation_restriction: adminonly
      robot_token_duration: 30
"""

RETURN = r"""
settings:
  description: The managed settings after the task.
  returned: always
  type: dict
  sample: {"project_creation_restriction": "adminonly"}
"""

from ansible_collections.harbor_twisted.registry.plugins.module_utils.harbor import HarborError
from ansible_collections.harbor_twisted.registry.plugins.module_utils.resource import (
    UPDATE_SECRET_SPEC,
    ObjectModule,
)


def _same_kind(value, current):
    """The given value in the type the registry keeps (Ansible may hand numbers as text)."""
    if isinstance(current, bool):
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
            return value.lower() in ("true", "yes")
        return value
    if isinstance(current, int) and isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


class Configuration(ObjectModule):
    kind = "settings"
    secrets = ("secret_settings",)
    has_state = False
    argument_spec = dict(
        settings=dict(type="dict", required=True),
        secret_settings=dict(type="dict", no_log=True),
        update_secret=UPDATE_SECRET_SPEC,
    )

    def read(self):
        return self.api.get("/configurations")

    def validate(self):
        self.current = self.read()
        unknown = sorted(set(self.params["settings"]) - set(self.current))
        if unknown:
            raise HarborError("unknown configuration key%s: %s (known: %s)" % (
                "s" if len(unknown) > 1 else "", ", ".join(unknown),
                ", ".join(sorted(self.current))))
        for key, value in sorted(self.params["settings"].items()):
            item = self.current[key]
            if not item.get("editable", True) and \
                    _same_kind(value, item.get("value")) != item.get("value"):
                raise HarborError(
                    "configuration key %s is fixed (in the service's configuration file, or "
                    "auth_mode once users exist) at %r and cannot be set to %r here"
                    % (key, item.get("value"), value))

    def view(self, existing):
        return dict((k, existing[k].get("value")) for k in self.params["settings"])

    def wanted(self):
        return dict((k, _same_kind(v, self.current[k].get("value")))
                    for k, v in self.params["settings"].items())

    def secret_changes(self, exists):
        if self.params["update_secret"] != "always" or not self.params["secret_settings"]:
            return {}
        return {"secret_settings": self.params["secret_settings"]}

    def update(self, existing, after, changed):
        body = dict((k, after[k]) for k in changed if k in self.params["settings"])
        body.update(after.get("secret_settings") or {})
        self.api.put("/configurations", body)


def main():
    Configuration().execute()


if __name__ == "__main__":
    main()
