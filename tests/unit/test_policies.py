"""Selector globs and the retention evaluation, without a server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harbor_twisted.core.errors import Invalid
from harbor_twisted.core.immutability import check_rule
from harbor_twisted.core.patterns import matches
from harbor_twisted.core.retention import Candidate, check_policy, evaluate
from harbor_twisted.core.selectors import repository_selected

NOW = datetime(2026, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    ("**", "a/b/c", True), ("*", "a/b", False), ("*", "ab", True), ("a/**", "a/b/c", True),
    ("v{1,2}.*", "v2.0", True), ("v{1,2}.*", "v3.0", False), ("rel-?", "rel-1", True),
    ("[a-c]x", "bx", True), ("[!a-c]x", "bx", False), ("{a,b", "{a,b", True),
])
def test_doublestar_globs(pattern, text, expected):
    assert matches(pattern, text) is expected


def test_repository_selectors_ignore_the_project():
    scope = {"repository": [{"decoration": "repoMatches", "pattern": "team/*"}]}
    assert repository_selected(scope, "proj/team/app")
    assert not repository_selected(scope, "proj/team/app/sub")
    excluded = {"repository": [{"decoration": "repoExcludes", "pattern": "tmp-**"}]}
    assert repository_selected(excluded, "proj/app")
    assert not repository_selected(excluded, "proj/tmp-1/x")


def _rule(template: str, value: int | None = None, tags: str = "**", repos: str = "**",
          disabled: bool = False) -> dict:
    return {"template": template, "disabled": disabled,
            "params": {} if value is None else {template: value},
            "scope_selectors": {"repository": [{"decoration": "repoMatches",
                                                "pattern": repos}]},
            "tag_selectors": [{"decoration": "matches", "pattern": tags}]}


def _candidate(n: int, repo: str = "p/app", tags: tuple[str, ...] = (), pushed_days: int = 0,
               pulled_days: int | None = None) -> Candidate:
    return Candidate(repo, n, f"sha256:{n}", tags or (f"v{n}",),
                     NOW - timedelta(days=pushed_days),
                     None if pulled_days is None else NOW - timedelta(days=pulled_days))


def _deleted(rules: list[dict], candidates: list[Candidate]) -> list[int]:
    return sorted(c.artifact_id for c in evaluate(rules, candidates, NOW).deleted)


def test_latest_pushed_keeps_the_newest_per_repository():
    found = [_candidate(1, pushed_days=3), _candidate(2, pushed_days=2),
             _candidate(3, pushed_days=1), _candidate(4, "p/other", pushed_days=9)]
    assert _deleted([_rule("latestPushedK", 1)], found) == [1, 2]


def test_rules_are_ored_and_tags_outside_every_rule_go():
    found = [_candidate(1, tags=("dev",), pushed_days=1), _candidate(2, pushed_days=5),
             _candidate(3, pushed_days=30, pulled_days=1)]
    rules = [_rule("nDaysSinceLastPush", 7, tags="v*"), _rule("nDaysSinceLastPull", 3)]
    assert _deleted(rules, found) == [1]
    assert _deleted([_rule("always", tags="v*")], found) == [1]


def test_uncovered_repositories_disabled_rules_and_no_rules_delete_nothing():
    found = [_candidate(1, "p/app"), _candidate(2, "p/keep")]
    assert _deleted([_rule("latestPushedK", 0, repos="app")], found) == [1]
    assert _deleted([_rule("latestPushedK", 0, disabled=True)], found) == []
    assert _deleted([], found) == []


def test_latest_pulled_ignores_never_pulled_artifacts():
    found = [_candidate(1, pulled_days=5), _candidate(2, pulled_days=1), _candidate(3)]
    assert _deleted([_rule("latestPulledN", 1)], found) == [1, 3]


GOOD_SELECTORS = {
    "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "**"}],
    "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                        "pattern": "**"}]},
}
GOOD_POLICY = {"algorithm": "or", "scope": {"level": "project", "ref": 1},
               "rules": [{"template": "latestPushedK", "params": {"latestPushedK": 2},
                          "action": "retain", "disabled": False, "priority": 0,
                          **GOOD_SELECTORS}],
               "trigger": {"kind": "Schedule", "settings": {"cron": "0 0 0 * * *"}}}
GOOD_IMMUTABLE_RULE = {"template": "immutable_template", "action": "immutable",
                       "disabled": False, "priority": 0, **GOOD_SELECTORS}
# JSON values of every type, including those a ``in dict`` test cannot hash.
ODD_VALUES = ({}, {"a": 1}, [], [1], None, True, 1.5, -1, 2**40, "", "x", "\x00")


def _with_each_value_replaced(value: Any, odd: Any) -> Iterator[Any]:
    """``value`` with one member, at any depth, replaced by ``odd`` — once per member."""
    if isinstance(value, dict):
        for key, member in value.items():
            yield {**value, key: odd}
            for changed in _with_each_value_replaced(member, odd):
                yield {**value, key: changed}
    elif isinstance(value, list):
        for index, member in enumerate(value):
            yield [*value[:index], odd, *value[index + 1:]]
            for changed in _with_each_value_replaced(member, odd):
                yield [*value[:index], changed, *value[index + 1:]]


@pytest.mark.parametrize("check", [check_policy, check_rule], ids=["retention", "immutable"])
@pytest.mark.parametrize("odd", ODD_VALUES, ids=repr)
def test_any_member_of_any_type_is_accepted_or_invalid_never_a_crash(check, odd):
    good = GOOD_POLICY if check is check_policy else GOOD_IMMUTABLE_RULE
    check(good)
    for body in _with_each_value_replaced(good, odd):
        with contextlib.suppress(Invalid):
            check(body)


def test_a_rule_template_that_is_an_object_is_invalid():
    rule = {**GOOD_POLICY["rules"][0], "template": {"latestPushedK": 1}}
    with pytest.raises(Invalid, match="template must be one of"):
        check_policy({**GOOD_POLICY, "rules": [rule]})


def test_policy_checks():
    good = {"algorithm": "or", "scope": {"level": "project", "ref": 1},
            "rules": [{**_rule("latestPushedK", 2),
                       "tag_selectors": [{"kind": "doublestar", "decoration": "matches",
                                          "pattern": "**"}],
                       "scope_selectors": {"repository": [{"kind": "doublestar",
                                                           "decoration": "repoMatches",
                                                           "pattern": "**"}]}}],
            "trigger": {"kind": "Schedule", "settings": {"cron": "0 0 0 * * *"}}}
    request = check_policy(good)
    assert request.cron == "0 0 0 * * *" and request.rules[0]["params"] == {"latestPushedK": 2}
    for broken in ({**good, "algorithm": "and"}, {**good, "scope": {"level": "system"}},
                   {**good, "trigger": {"settings": {"cron": "nope"}}},
                   {**good, "rules": [{**good["rules"][0], "params": {}}]}):
        with pytest.raises(Invalid):
            check_policy(broken)
