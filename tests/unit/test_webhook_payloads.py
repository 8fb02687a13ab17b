"""Webhook payloads and policy checks without a server: Harbor's Default shape per event
kind, the CloudEvents and Slack renderings, and addresses without credentials."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from harbor_twisted.core.errors import Invalid
from harbor_twisted.db.event_store import Event
from harbor_twisted.db.webhook_store import Policy, Target
from harbor_twisted.webhooks.payloads import build, render
from harbor_twisted.webhooks.policies import check_address, check_policy

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
DIGEST = "sha256:" + "ab" * 32


def _event(kind: str, repository: str = "team/app", tag: str | None = "v1",
           detail: dict | None = None) -> Event:
    return Event(1, kind, repository, DIGEST, tag, "alice", detail, AT)


def test_push_payload_has_harbor_resources_and_repository():
    payload = build(_event("PUSH_ARTIFACT"), False, AT, "registry.example:443")
    assert payload == {
        "type": "PUSH_ARTIFACT", "occur_at": int(AT.timestamp()), "operator": "alice",
        "event_data": {
            "resources": [{"digest": DIGEST, "tag": "v1",
                           "resource_url": "registry.example:443/team/app:v1"}],
            "repository": {"name": "app", "namespace": "team", "repo_full_name": "team/app",
                           "repo_type": "private", "date_created": int(AT.timestamp())}}}


def test_an_artifact_named_by_digest_shows_the_digest_as_its_tag():
    payload = build(_event("PULL_ARTIFACT", "team/a/b", tag=None), True, None, "h")
    (resource,) = payload["event_data"]["resources"]
    assert resource == {"digest": DIGEST, "tag": DIGEST, "resource_url": f"h/team/a/b@{DIGEST}"}
    assert payload["event_data"]["repository"]["name"] == "a/b"
    assert payload["event_data"]["repository"]["repo_type"] == "public"


def test_job_events_carry_their_event_data_only():
    retention = {"total": 2, "retained": 1, "project_name": "team"}
    event = Event(2, "TAG_RETENTION", "team", None, None, None,
                  {"event_data": {"retention": retention}}, AT)
    payload = build(event, False, None, "h")
    assert payload["event_data"] == {"retention": retention}
    assert payload["operator"] == ""


def test_cloud_events_and_slack_renderings():
    payload = build(_event("PUSH_ARTIFACT"), False, None, "h")
    body, content_type = render(Target("http", "http://x", False, "CloudEvents", False),
                                payload, 7, 3)
    event = json.loads(body)
    assert content_type == "application/cloudevents+json"
    assert (event["specversion"], event["type"], event["source"]) == (
        "1.0", "harbor.artifact.pushed", "/projects/7/webhook/policies/3")
    assert event["time"] == "2026-01-02T03:04:05Z" and event["data"] == payload["event_data"]
    body, content_type = render(Target("slack", "https://hooks.slack.com/x", False, "Default",
                                       False), payload, 7, 3)
    assert content_type == "application/json"
    assert "PUSH_ARTIFACT" in json.loads(body)["text"]
    body, _ = render(Target("http", "http://x", False, "Default", False), payload, 7, 3)
    assert json.loads(body) == payload


def test_addresses_never_hold_credentials():
    """An address is stored and logged as given: user:password would be a secret in clear."""
    for address in ("https://user:pw@hooks.example/p?q=1", "http://u:p@[::1]:8080/x",
                    "http://token@hooks.example/"):
        with pytest.raises(Invalid, match="auth_header"):
            check_address(address)
    assert check_address("http://plain.example:81/") == "http://plain.example:81/"


def test_a_change_keeps_what_it_leaves_out():
    existing = Policy(1, 1, "ci", "", True, ["PUSH_ARTIFACT"],
                      [Target("http", "http://x", False, "Default", True)], "admin", AT, AT)
    checked = check_policy({"enabled": False}, existing)
    assert checked.values == {"enabled": False} and checked.auth_headers == []
    checked = check_policy({"targets": [{"address": "https://y", "auth_header": " T "}]},
                           existing)
    assert checked.auth_headers == ["T"]
    with pytest.raises(Invalid):
        check_policy({"name": "  "}, existing)
    with pytest.raises(Invalid):
        check_policy({"event_types": ["PUSH_ARTIFACT", "SCANNING_COMPLETED"]}, existing)
