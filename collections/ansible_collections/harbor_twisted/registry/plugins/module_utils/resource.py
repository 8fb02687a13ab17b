# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""One base for every object module: read -> compare -> create / update / delete.

A module describes its object by overriding :meth:`read`, :meth:`view`, :meth:`wanted`
and the three writes; :meth:`run` does the rest: ``changed`` only when a managed field
differs, ``diff`` with ``--diff``, and in check mode the prediction without any write.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.harbor_twisted.registry.plugins.module_utils.compare import (
    changed_keys,
    diff_of,
    target_view,
)
from ansible_collections.harbor_twisted.registry.plugins.module_utils.harbor import (
    FINISHED,
    SUCCEEDED,
    HarborApi,
    HarborError,
    connection_spec,
)

UPDATE_SECRET_SPEC = dict(type="str", default="on_create", choices=["on_create", "always"],
                          no_log=False)


class HarborModule(object):
    """Shared plumbing: the AnsibleModule, the API client, failures as ``fail_json``."""

    argument_spec = {}
    module_kwargs = {}

    def __init__(self, module=None):
        self.module = module or AnsibleModule(
            argument_spec=connection_spec(**self.argument_spec),
            supports_check_mode=True, **self.module_kwargs)
        self.params = self.module.params
        self.api = HarborApi(self.params)

    def fail(self, message, **extra):
        self.module.fail_json(msg=message, **extra)

    def execute(self):
        try:
            result = self.run()
        except HarborError as error:
            self.fail(error.message, changed=error.changed)
        self.module.exit_json(**result)

    def run(self):
        raise NotImplementedError


class ObjectModule(HarborModule):
    """An object that is present or absent and has managed fields.

    Subclasses set ``kind`` (the key the result carries the object under), ``secrets``
    (write-only fields of the view: never read back, sent on creation and with
    ``update_secret=always``) and ``defaults`` (the view of a new object before the
    given values), and implement the hooks below.
    """

    kind = "object"
    secrets = ()
    defaults = {}
    has_state = True

    def read(self):
        """The object as the API answers it, or None when it does not exist."""
        raise NotImplementedError

    def view(self, existing):
        """The managed fields of an existing object (secrets left out)."""
        raise NotImplementedError

    def wanted(self):
        """The managed fields as given; None for a field not given."""
        raise NotImplementedError

    # The writes below suit an object kept under one API path: POST there, PUT and DELETE
    # at PATH/ID, each with the body the module makes of its view; others override them.
    path = None

    def collection(self):
        """The API path of the objects of this kind."""
        return self.path

    def item_path(self, existing):
        return "%s/%d" % (self.collection(), existing["id"])

    def body(self, after, existing=None):
        """The API's body for the view ``after``."""
        raise NotImplementedError

    def create(self, after):
        """Create the object with the view ``after``; may return more of the result."""
        self.api.post(self.collection(), self.body(after))

    def update(self, existing, after, changed):
        """Bring ``existing`` to ``after``; ``changed`` names the differing fields."""
        self.api.put(self.item_path(existing), self.body(after, existing))

    def delete(self, existing):
        self.api.delete(self.item_path(existing))

    def validate(self):
        """Checks and lookups before anything is compared (raise HarborError)."""

    def secret_changes(self, exists):
        """Secrets to send: every given one on creation, with update_secret=always too."""
        given = dict((k, self.params.get(k)) for k in self.secrets
                     if self.params.get(k) is not None)
        if not exists or self.params.get("update_secret") == "always":
            return given
        return {}

    # (name in the result, key of the API's object): copied beside the view of an existing one
    result_ids = ()

    def result_object(self, existing, after):
        """What the result carries under ``kind``: the view (never a secret) and the ids."""
        if existing is None:
            return dict((k, v) for k, v in after.items() if k not in self.secrets)
        shown = self.view(existing)
        shown.update((name, existing[key]) for name, key in self.result_ids)
        return shown

    def run(self):
        self.validate()
        existing = self.read()
        before = self.view(existing) if existing is not None else {}
        state = self.params.get("state", "present") if self.has_state else "present"
        if state == "absent":
            return self._absent(existing, before)
        wanted = self.wanted()
        after = target_view(before if existing is not None else None, wanted, self.defaults)
        changed_fields = changed_keys(before, after) if existing is not None else sorted(after)
        secrets = self.secret_changes(existing is not None)
        changed = existing is None or bool(changed_fields) or bool(secrets)
        shown_after = dict(after)
        shown_after.update(secrets)
        result = dict(changed=changed, diff=diff_of(before, shown_after, self.secrets))
        extra = {}
        if changed and not self.module.check_mode:
            if existing is None:
                extra = self.create(dict(after, **secrets)) or {}
            else:
                extra = self.update(existing, dict(after, **secrets),
                                    changed_fields + sorted(secrets)) or {}
            if extra.get("reread", True):
                existing = self.read()
        extra.pop("reread", None)
        result[self.kind] = self.result_object(existing, after)
        result.update(extra)
        return result

    def _absent(self, existing, before):
        if existing is None:
            return dict(changed=False, diff=diff_of({}, {}), **{self.kind: {}})
        if not self.module.check_mode:
            self.delete(existing)
        return dict(changed=True, diff=diff_of(before, {}, self.secrets), **{self.kind: {}})


class InfoModule(HarborModule):
    """Reads only: ``changed`` is always false and check mode changes nothing.

    The result lists objects under ``key``: the one the parameter ``selector`` names
    (none when it does not exist), or every one without it.
    """

    key = "objects"
    selector = "name"

    def prepare(self):
        """Checks and lookups before reading (raise HarborError)."""

    def one(self, value):
        """The object ``value`` selects, or None."""
        raise NotImplementedError

    def every(self):
        raise NotImplementedError

    def extra(self):
        """More of the result beside the list."""
        return {}

    def run(self):
        self.prepare()
        value = self.params.get(self.selector)
        if value is None or value == "":
            found = self.every()
        else:
            found = [x for x in [self.one(value)] if x]
        result = dict(changed=False, **self.extra())
        result[self.key] = found
        return result


class ActionModule(HarborModule):
    """Starts a job (check mode: starts none) and optionally waits for its end.

    ``start()`` returns the API path of the job it started; the job's ``status_field``
    tells when it ended and whether it succeeded, its ``message_field`` why not.
    """

    key = "job"
    label = "job"
    status_field = "status"
    message_field = "status_text"

    def prepare(self):
        """Checks and lookups before anything starts (raise HarborError)."""

    def start(self):
        raise NotImplementedError

    def run(self):
        self.prepare()
        if self.module.check_mode:
            return {"changed": True, self.key: {}}
        path = self.start()
        job = self.api.get(path)
        if self.params["wait"]:
            job = wait_until_done(lambda: self.api.get(path),
                                  lambda j: j.get(self.status_field) in FINISHED,
                                  self.params["wait_timeout"])
            if job.get(self.status_field) not in SUCCEEDED:
                raise HarborError("%s %s ended %s: %s" % (
                    self.label, job.get("id"), job.get(self.status_field),
                    job.get(self.message_field, "")), changed=True)
        return {"changed": True, self.key: job}


WAIT_SPEC = dict(
    wait=dict(type="bool", default=False),
    wait_timeout=dict(type="int", default=600),
)


def wait_until_done(fetch, finished, timeout, interval=1.0):
    """Poll ``fetch()`` until ``finished(answer)``; the last answer, or HarborError."""
    deadline = time.time() + timeout
    while True:
        answer = fetch()
        if finished(answer):
            return answer
        if time.time() >= deadline:
            raise HarborError("still not finished after %d seconds: %r" % (timeout, answer))
        time.sleep(interval)
