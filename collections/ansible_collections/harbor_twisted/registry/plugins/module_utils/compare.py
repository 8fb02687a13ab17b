# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The compare step, free of Ansible and HTTP so that it can be tested alone.

A *view* is the dict of an object's managed fields, in the module's own words. What the
user asked for is a *wanted* dict where ``None`` means "not given: leave as it is". The
target view is the current view (or the creation defaults) with every given value laid
over it; a dict value is laid over key by key, so ``metadata: {public: true}`` manages
that one key and leaves the others alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

HIDDEN = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def target_view(current, wanted, defaults=None):
    """The view the object should have once the given values are applied."""
    base = copy.deepcopy(current if current is not None else (defaults or {}))
    for key, value in wanted.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged = dict(base[key])
            merged.update((k, v) for k, v in value.items() if v is not None)
            base[key] = merged
        else:
            base[key] = copy.deepcopy(value)
    return base


def changed_keys(before, after):
    """The keys whose values differ, sorted (a key missing on one side differs)."""
    keys = set(before) | set(after)
    return sorted(k for k in keys if before.get(k, None) != after.get(k, None)
                  or (k in before) != (k in after))


def diff_of(before, after, secrets=()):
    """``{'before': ..., 'after': ...}`` for ``--diff``, write-only values masked."""

    def masked(view):
        return dict((k, HIDDEN if k in secrets and v else v) for k, v in view.items())

    return {"before": masked(before or {}), "after": masked(after or {})}


def secret_update(given, exists, update_secret):
    """Whether a write-only secret is sent: always on creation, on update only when
    ``update_secret`` is ``always`` and a value is given (it cannot be read back)."""
    if given is None:
        return False
    return not exists or update_secret == "always"


def normalize_cron(expression):
    """A cron expression with single spaces, as the API stores it."""
    return " ".join((expression or "").split())
