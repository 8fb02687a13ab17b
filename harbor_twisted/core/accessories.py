"""An artifact's accessories as Harbor names them: the artifacts whose ``subject`` it is
(signatures, SBOMs), each with Harbor's accessory type, for ``with_accessory``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from harbor_twisted.db import artifact_store, registry_store
from harbor_twisted.db.artifact_store import ArtifactRecord

# artifact type fragment -> Harbor's accessory type; anything else is a generic accessory
TYPES = (
    ("notary", "signature.notation"),
    ("cosign", "signature.cosign"),
    ("goharbor.harbor.sbom", "sbom.harbor"),
    ("nydus", "acceleration.nydus"),
)
GENERIC = "subject.accessory"


@dataclass(frozen=True)
class Accessory:
    id: int  # the accessory artifact's id (Harbor keeps a separate row; one id serves both)
    artifact_id: int
    subject_artifact_id: int
    subject_artifact_digest: str
    subject_artifact_repo: str
    size: int
    digest: str
    type: str
    creation_time: datetime | None
    artifact_type: str = ""  # the referrer's own artifactType, for words in the portal


def accessory_type(artifact_type: str) -> str:
    lowered = artifact_type.lower()
    return next((name for key, name in TYPES if key in lowered), GENERIC)


def accessories_of(conn: Connection, repository_name: str,
                   subjects: list[ArtifactRecord]) -> dict[int, list[Accessory]]:
    """Each subject's accessories (one query per subject: a page holds few)."""
    found: dict[int, list[Accessory]] = {}
    for subject in subjects:
        items = []
        for descriptor in registry_store.list_referrers(conn, repository_name, subject.digest,
                                                        None):
            record = artifact_store.artifact_by_digest(conn, subject.repository_id,
                                                       descriptor["digest"])
            if record is None:
                continue
            items.append(Accessory(
                record.id, record.id, subject.id, subject.digest, repository_name,
                int(descriptor["size"]), record.digest,
                accessory_type(descriptor.get("artifactType", "")), record.push_time,
                descriptor.get("artifactType", "")))
        found[subject.id] = items
    return found
