"""Tag retention: Harbor's ``RetentionPolicy`` checked, and the evaluation a run applies.

Candidates are the tagged artifacts of the project's repositories. Each enabled rule keeps,
among the candidates its repository and tag selectors cover, those its template picks
(latest K pushed, latest N pulled, pushed or pulled within N days, always). The algorithm
is ``or``: an artifact any rule keeps stays; every other candidate is deleted — unless one
of its tags is immutable. Repositories no rule's scope covers are left alone, as in
Harbor; untagged artifacts are left to garbage collection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from harbor_twisted.common.cron import InvalidCron, check_cron
from harbor_twisted.core.errors import Invalid
from harbor_twisted.core.selectors import (
    TAG_DECORATIONS,
    check_scope,
    check_selectors,
    repository_selected,
    tag_selected,
)

MAX_RULES = 15
# template -> (parameter, unit shown by Harbor's metadata)
TEMPLATES: dict[str, tuple[str | None, str]] = {
    "latestPushedK": ("latestPushedK", "count"),
    "latestPulledN": ("latestPulledN", "count"),
    "nDaysSinceLastPush": ("nDaysSinceLastPush", "days"),
    "nDaysSinceLastPull": ("nDaysSinceLastPull", "days"),
    "always": (None, ""),
}
DISPLAY = {
    "latestPushedK": "retain the most recently pushed # artifacts",
    "latestPulledN": "retain the most recently pulled # artifacts",
    "nDaysSinceLastPush": "retain the artifacts pushed within the last # days",
    "nDaysSinceLastPull": "retain the artifacts pulled within the last # days",
    "always": "retain always",
}


def metadata() -> dict[str, Any]:
    """Harbor's ``RetentionMetadata``: the templates and selectors this server knows."""
    return {
        "templates": [
            {"rule_template": name, "display_text": DISPLAY[name], "action": "retain",
             "params": [] if param is None else [{"type": "int", "unit": unit,
                                                   "required": True}]}
            for name, (param, unit) in TEMPLATES.items()
        ],
        "scope_selectors": [{"display_text": "Repositories", "kind": "doublestar",
                             "decorations": ["repoMatches", "repoExcludes"]}],
        "tag_selectors": [{"display_text": "Tags", "kind": "doublestar",
                           "decorations": ["matches", "excludes"]}],
    }


def _check_rule(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Invalid(f"{where} must be an object")
    template = raw.get("template")
    if not isinstance(template, str) or template not in TEMPLATES:  # a dict is unhashable
        raise Invalid(f"{where}.template must be one of {', '.join(TEMPLATES)}")
    disabled = raw.get("disabled", False)
    if not isinstance(disabled, bool):
        raise Invalid(f"{where}.disabled must be true or false")
    action = raw.get("action") or "retain"
    if action != "retain":
        raise Invalid(f"{where}.action must be retain")
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise Invalid(f"{where}.params must be an object")
    name, _ = TEMPLATES[template]
    checked_params: dict[str, int] = {}
    if name is not None:
        value = params.get(name)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**31:
            raise Invalid(f"{where}.params.{name} must be a non-negative integer")
        checked_params[name] = value
    priority = raw.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int) or abs(priority) > 2**31:
        raise Invalid(f"{where}.priority must be an integer")
    return {
        "id": raw.get("id") if isinstance(raw.get("id"), int) else None,
        "priority": priority, "disabled": disabled, "action": action, "template": template,
        "params": checked_params,
        "tag_selectors": check_selectors(raw.get("tag_selectors"), TAG_DECORATIONS,
                                         f"{where}.tag_selectors"),
        "scope_selectors": check_scope(raw.get("scope_selectors"), f"{where}.scope_selectors"),
    }


@dataclass(frozen=True)
class PolicyRequest:
    project_id: int
    rules: list[dict[str, Any]]
    cron: str  # empty: no schedule


def check_policy(data: Any) -> PolicyRequest:
    """Harbor's ``RetentionPolicy``: algorithm or, scope project, rules, trigger."""
    if not isinstance(data, dict):
        raise Invalid("the body must be a JSON object")
    if (data.get("algorithm") or "or") != "or":
        raise Invalid("algorithm must be or")
    scope = data.get("scope")
    if not isinstance(scope, dict) or scope.get("level") != "project":
        raise Invalid("scope.level must be project")
    ref = scope.get("ref")
    if isinstance(ref, bool) or not isinstance(ref, int) or not 0 < ref < 2**31:
        raise Invalid("scope.ref must be the project id")
    rules = data.get("rules") or []
    if not isinstance(rules, list) or len(rules) > MAX_RULES:
        raise Invalid(f"rules must be a list of at most {MAX_RULES} rules")
    checked = [_check_rule(rule, f"rules[{i}]") for i, rule in enumerate(rules)]
    for number, rule in enumerate(checked, 1):
        rule["id"] = number
    trigger = data.get("trigger") or {}
    if not isinstance(trigger, dict):
        raise Invalid("trigger must be an object")
    if (trigger.get("kind") or "Schedule") != "Schedule":
        raise Invalid("trigger.kind must be Schedule")
    settings = trigger.get("settings") or {}
    if not isinstance(settings, dict):
        raise Invalid("trigger.settings must be an object")
    cron = settings.get("cron") or ""
    if not isinstance(cron, str):
        raise Invalid("trigger.settings.cron must be a string")
    if cron:
        try:
            cron = check_cron(cron)
        except InvalidCron as exc:
            raise Invalid(str(exc)) from None
    return PolicyRequest(ref, checked, cron)


# -- evaluation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    repository: str  # full name
    artifact_id: int
    digest: str
    tags: tuple[str, ...]
    pushed: datetime
    pulled: datetime | None


@dataclass
class Decision:
    retained: list[Candidate] = field(default_factory=list)
    deleted: list[Candidate] = field(default_factory=list)


def _covered(rule: dict[str, Any], candidate: Candidate) -> bool:
    return repository_selected(rule["scope_selectors"], candidate.repository) and any(
        tag_selected(rule["tag_selectors"], tag) for tag in candidate.tags)


def _kept_by(rule: dict[str, Any], covered: list[Candidate], now: datetime) -> set[int]:
    template = rule["template"]
    value = rule["params"].get(TEMPLATES[template][0] or "", 0)
    if template == "always":
        return {c.artifact_id for c in covered}
    if template == "latestPushedK":
        ordered = sorted(covered, key=lambda c: (c.pushed, c.artifact_id), reverse=True)
        return {c.artifact_id for c in ordered[:value]}
    if template == "latestPulledN":
        pulled = [c for c in covered if c.pulled is not None]
        ordered = sorted(pulled, key=lambda c: (c.pulled, c.artifact_id), reverse=True)
        return {c.artifact_id for c in ordered[:value]}
    since = now - timedelta(days=value)
    if template == "nDaysSinceLastPush":
        return {c.artifact_id for c in covered if c.pushed >= since}
    return {c.artifact_id for c in covered if c.pulled is not None and c.pulled >= since}


def evaluate(rules: list[dict[str, Any]], candidates: list[Candidate], now: datetime) -> Decision:
    """Which candidates the rules keep; the others go. Rules apply per repository."""
    if not any(not rule.get("disabled") for rule in rules):
        return Decision(retained=list(candidates))  # no rule: nothing is selected to go
    kept: set[int] = set()
    by_repository: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_repository.setdefault(candidate.repository, []).append(candidate)
    selected: set[str] = set()  # repositories some rule's scope covers; others untouched
    for rule in rules:
        if rule.get("disabled"):
            continue
        for name, found in by_repository.items():
            if repository_selected(rule["scope_selectors"], name):
                selected.add(name)
                kept |= _kept_by(rule, [c for c in found if _covered(rule, c)], now)
    decision = Decision()
    for candidate in candidates:
        if candidate.artifact_id in kept or candidate.repository not in selected:
            decision.retained.append(candidate)
        else:
            decision.deleted.append(candidate)
    return decision
