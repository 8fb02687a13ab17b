"""A retention rule as the project's Retention tab shows and reads it: the form's fields to
Harbor's rule shape (template, its count or days, repository and tag selectors) and back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from harbor_twisted.core.errors import Invalid
from harbor_twisted.core.retention import DISPLAY, TEMPLATES

REPOSITORY_DECORATIONS = {"repoMatches": "matching", "repoExcludes": "not matching"}
TAG_DECORATIONS = {"matches": "matching", "excludes": "not matching"}
KIND = "doublestar"


@dataclass(frozen=True)
class RuleView:
    """One rule, flattened for the table and its edit form."""

    number: int  # 1-based position in the policy
    template: str
    value: int | None
    repository_decoration: str
    repository_pattern: str
    tag_decoration: str
    tag_pattern: str
    untagged: bool
    disabled: bool

    @property
    def text(self) -> str:
        return DISPLAY.get(self.template, self.template).replace(
            "#", str(self.value if self.value is not None else ""))


def _untagged(extras: str) -> bool:
    try:
        return bool(json.loads(extras or "{}").get("untagged"))
    except (ValueError, AttributeError):
        return False


def views(rules: list[dict[str, Any]]) -> list[RuleView]:
    found = []
    for number, rule in enumerate(rules, 1):
        repository = (rule.get("scope_selectors", {}).get("repository") or [{}])[0]
        tag = (rule.get("tag_selectors") or [{}])[0]
        param = TEMPLATES.get(rule.get("template", ""), (None, ""))[0]
        found.append(RuleView(
            number, rule.get("template", ""), rule.get("params", {}).get(param) if param else None,
            repository.get("decoration", "repoMatches"), repository.get("pattern", "**"),
            tag.get("decoration", "matches"), tag.get("pattern", "**"),
            _untagged(tag.get("extras", "")), bool(rule.get("disabled"))))
    return found


def _choice(text: str, known: dict[str, str]) -> str:
    if text not in known:
        raise Invalid(f"choose one of: {', '.join(known.values())}")
    return text


def rule_from_form(form: dict[str, str]) -> dict[str, Any]:
    """Harbor's rule shape; the core's check_policy validates it again."""
    template = form.get("template", "")
    if template not in TEMPLATES:
        raise Invalid("choose what the rule retains")
    param = TEMPLATES[template][0]
    params: dict[str, int] = {}
    if param is not None:
        text = form.get("value", "").strip()
        if not text.isdecimal() or len(text) > 9:
            raise Invalid("the rule's count or number of days must be a whole number")
        params[param] = int(text)
    untagged = form.get("untagged") == "true"
    return {
        "template": template, "action": "retain", "params": params,
        "disabled": form.get("disabled") == "true",
        "scope_selectors": {"repository": [{
            "kind": KIND,
            "decoration": _choice(form.get("repository_decoration", ""),
                                  REPOSITORY_DECORATIONS),
            "pattern": form.get("repository_pattern", "").strip() or "**"}]},
        "tag_selectors": [{
            "kind": KIND,
            "decoration": _choice(form.get("tag_decoration", ""), TAG_DECORATIONS),
            "pattern": form.get("tag_pattern", "").strip() or "**",
            "extras": json.dumps({"untagged": untagged})}],
    }
