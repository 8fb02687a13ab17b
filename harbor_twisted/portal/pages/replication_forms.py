"""The replication page's forms read into what ``ReplicationControl`` takes: a registry
endpoint (the secret write-only: empty keeps the stored one) and a policy (push to or pull
from one endpoint, name and tag filters, trigger)."""

from __future__ import annotations

from typing import Any

from harbor_twisted.core.errors import Invalid
from harbor_twisted.db.replication_store import Policy
from harbor_twisted.replication.control import (
    REGISTRY_TYPES,
    TRIGGERS,
    PolicyInput,
    RegistryInput,
    check_filters,
    check_namespace,
    check_registry_type,
    check_trigger,
    check_url,
)

REGISTRY_LABELS = {"harbor": "Harbor (or harbor-twisted)", "docker-registry": "Docker Registry"}
TRIGGER_LABELS = {"manual": "Manual", "scheduled": "Scheduled (cron)",
                  "event_based": "On push and delete (event based)"}
SHOWN_FILTERS = (("name", "name_filter"), ("tag", "tag_filter"))


def registry_labels() -> dict[str, str]:
    return {kind: REGISTRY_LABELS.get(kind, kind) for kind in REGISTRY_TYPES}


def trigger_labels() -> dict[str, str]:
    return {kind: TRIGGER_LABELS.get(kind, kind) for kind in TRIGGERS}


def _name(form: dict[str, str]) -> str:
    name = form.get("name", "").strip()
    if not name or len(name) > 255:
        raise Invalid("the name must be 1 to 255 characters")
    return name


def registry_input(form: dict[str, str]) -> RegistryInput:
    secret = form.get("access_secret", "")
    return RegistryInput({
        "name": _name(form),
        "url": check_url(form.get("url", "").strip()),
        "type": check_registry_type(form.get("type", "")),
        "description": form.get("description", "").strip(),
        "insecure": form.get("insecure") == "true",
        "credential_type": "basic",
        "access_key": form.get("access_key", "").strip()[:255],
    }, secret or None)


def _registry_id(form: dict[str, str]) -> int:
    text = form.get("registry_id", "")
    if not text.isdecimal() or len(text) > 9:
        raise Invalid("choose a registry endpoint")
    return int(text)


def _kept_filters(existing: Policy | None) -> list[dict[str, Any]]:
    """Filters the form does not show (resource, "excludes") stay as they were."""
    if existing is None:
        return []
    shown = {kind for kind, _ in SHOWN_FILTERS}
    return [f for f in existing.filters
            if f.get("type") not in shown or f.get("decoration", "matches") != "matches"]


def policy_input(form: dict[str, str], existing: Policy | None = None) -> PolicyInput:
    """``existing``: the policy being edited, whose settings the form lacks are kept."""
    direction = form.get("direction", "push")
    if direction not in ("push", "pull"):
        raise Invalid("the direction is push or pull")
    registry_id = _registry_id(form)
    kind, cron = check_trigger(form.get("trigger", "manual"), form.get("cron", "").strip())
    filters = [{"type": kind_, "value": form.get(field, "").strip(), "decoration": "matches"}
               for kind_, field in SHOWN_FILTERS if form.get(field, "").strip()]
    filters += _kept_filters(existing)
    return PolicyInput({
        "name": _name(form),
        "description": form.get("description", "").strip(),
        "src_registry_id": registry_id if direction == "pull" else None,
        "dest_registry_id": registry_id if direction == "push" else None,
        "dest_namespace": check_namespace(form.get("dest_namespace", "").strip()),
        "dest_namespace_replace_count": (existing.dest_namespace_replace_count
                                         if existing else -1),
        "trigger_type": kind,
        "cron": cron,
        "filters": check_filters(filters),
        "replicate_deletion": form.get("replicate_deletion") == "true",
        "override": form.get("override") == "true",
        "enabled": form.get("enabled") == "true",
        "speed": existing.speed if existing else -1,
    })


def policy_form_values(policy: Policy) -> dict[str, Any]:
    """A stored policy as its edit form shows it."""
    filters = {f["type"]: f["value"] for f in policy.filters
               if f.get("decoration", "matches") == "matches"}
    return {
        "direction": "pull" if policy.src_registry_id else "push",
        "registry_id": policy.src_registry_id or policy.dest_registry_id,
        "name_filter": filters.get("name", ""), "tag_filter": filters.get("tag", ""),
    }
