# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Harbor's repository and tag selectors (retention and immutability rules) in the
collection's flat words: ``repositories`` and ``tags`` patterns with their decorations."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

SELECTOR_OPTIONS = dict(
    repositories=dict(type="str", default="**"),
    repositories_decoration=dict(type="str", default="repoMatches",
                                 choices=["repoMatches", "repoExcludes"]),
    tags=dict(type="str", default="**"),
    tags_decoration=dict(type="str", default="matches", choices=["matches", "excludes"]),
    untagged=dict(type="bool", default=True),
)


def flat(rule):
    """The flat selector fields of one rule as the API answers it."""
    repository = ((rule.get("scope_selectors") or {}).get("repository") or [{}])[0]
    tag = (rule.get("tag_selectors") or [{}])[0]
    try:
        extras = json.loads(tag.get("extras") or "{}")
    except ValueError:
        extras = {}
    return {
        "repositories": repository.get("pattern", "**"),
        "repositories_decoration": repository.get("decoration", "repoMatches"),
        "tags": tag.get("pattern", "**"),
        "tags_decoration": tag.get("decoration", "matches"),
        "untagged": bool(extras.get("untagged", False)),
    }


def nested(fields):
    """Harbor's ``tag_selectors`` and ``scope_selectors`` from the flat fields."""
    return {
        "tag_selectors": [{"kind": "doublestar", "decoration": fields["tags_decoration"],
                           "pattern": fields["tags"],
                           "extras": json.dumps({"untagged": bool(fields["untagged"])})}],
        "scope_selectors": {"repository": [{"kind": "doublestar",
                                            "decoration": fields["repositories_decoration"],
                                            "pattern": fields["repositories"]}]},
    }
