"""Harbor's webhook payloads: the Default JSON (``type``, ``occur_at``, ``operator``,
``event_data``), built when an event is dispatched, and its rendering for a target —
Default, CloudEvents 1.0 (structured mode) or a Slack message — when it is delivered.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from harbor_twisted.common.local_urls import local_url
from harbor_twisted.config import Config
from harbor_twisted.db import event_store
from harbor_twisted.db.event_store import Event
from harbor_twisted.db.webhook_store import Target
from harbor_twisted.webhooks.policies import CLOUD_EVENTS

JSON = "application/json"
CLOUD_EVENTS_JSON = "application/cloudevents+json"
CLOUD_EVENT_TYPES = {
    event_store.PUSH_ARTIFACT: "harbor.artifact.pushed",
    event_store.PULL_ARTIFACT: "harbor.artifact.pulled",
    event_store.DELETE_ARTIFACT: "harbor.artifact.deleted",
    event_store.QUOTA_EXCEED: "harbor.quota.exceeded",
    event_store.REPLICATION: "harbor.replication.status.changed",
    event_store.TAG_RETENTION: "harbor.tag_retention.finished",
}
ARTIFACT_EVENTS = (event_store.PUSH_ARTIFACT, event_store.PULL_ARTIFACT,
                   event_store.DELETE_ARTIFACT, event_store.QUOTA_EXCEED)


def hostname(config: Config) -> str:
    """How clients reach this registry: ``external_url``'s host, else the listener (not
    ``registry_url``, the internal address a separate job service uses)."""
    return urlsplit(config.external_url or local_url(config)).netloc


def project_of(event: Event) -> str:
    """Repository events belong to the name's first component; job events name the
    project itself."""
    return event.repository.split("/", 1)[0]


def _repository(event: Event, public: bool, created: datetime | None) -> dict[str, Any]:
    namespace, _, name = event.repository.partition("/")
    shape: dict[str, Any] = {"name": name, "namespace": namespace,
                             "repo_full_name": event.repository,
                             "repo_type": "public" if public else "private"}
    if created is not None:
        shape["date_created"] = int(created.timestamp())
    return shape


def _resource(event: Event, host: str) -> dict[str, Any]:
    if event.tag:
        url, tag = f"{host}/{event.repository}:{event.tag}", event.tag
    else:  # as Harbor: an artifact named by digest shows the digest as its tag
        url, tag = f"{host}/{event.repository}@{event.digest}", event.digest or ""
    resource: dict[str, Any] = {"tag": tag, "resource_url": url}
    if event.digest:
        resource["digest"] = event.digest
    return resource


def build(event: Event, public: bool, created: datetime | None, host: str) -> dict[str, Any]:
    """The Default payload of an outbox event."""
    detail = event.detail or {}
    data: dict[str, Any] = dict(detail.get("event_data") or {})
    if event.event_type in ARTIFACT_EVENTS:
        data["resources"] = [_resource(event, host)]
        data["repository"] = _repository(event, public, created)
    occurred = event.created_at or datetime.now(UTC)
    return {"type": event.event_type, "occur_at": int(occurred.timestamp()),
            "operator": event.operator or "", "event_data": data}


def render(target: Target, payload: dict[str, Any], project_id: int,
           policy_id: int) -> tuple[bytes, str]:
    """The body and content type a target is sent."""
    if target.type == "slack":
        return json.dumps(_slack(payload)).encode(), JSON
    if target.payload_format == CLOUD_EVENTS:
        return json.dumps(_cloud_event(payload, project_id, policy_id)).encode(), (
            CLOUD_EVENTS_JSON)
    return json.dumps(payload).encode(), JSON


def _cloud_event(payload: dict[str, Any], project_id: int, policy_id: int) -> dict[str, Any]:
    occurred = datetime.fromtimestamp(payload["occur_at"], UTC)
    return {
        "specversion": "1.0", "id": str(uuid.uuid4()), "requestid": "",
        "source": f"/projects/{project_id}/webhook/policies/{policy_id}",
        "type": CLOUD_EVENT_TYPES.get(payload["type"], payload["type"]),
        "datacontenttype": JSON, "time": occurred.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": payload["event_data"], "operator": payload["operator"],
    }


def _slack(payload: dict[str, Any]) -> dict[str, Any]:
    occurred = datetime.fromtimestamp(payload["occur_at"], UTC)
    text = (f"*Harbor webhook event* `{payload['type']}` by "
            f"{payload['operator'] or 'the registry'} at {occurred:%Y-%m-%d %H:%M:%S} UTC\n"
            f"```{json.dumps(payload['event_data'], indent=2)[:2800]}```")
    return {"text": text, "blocks": [{"type": "section",
                                      "text": {"type": "mrkdwn", "text": text}}]}
