"""An artifact's accessories as Harbor names them: the artifacts whose ``subject`` it is
(signatures, SBOMs), each with Harbor's accessory type, for ``with_accessory``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from harbor_twisted.db import artifact_store
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
    """Each subject's accessories, for a page of subjects at once (one index range); sizes
    are the accessories' own totals, as Harbor records them."""
    by_repository: dict[int, list[ArtifactRecord]] = {}
    for subject in subjects:
        by_repository.setdefault(subject.repository_id, []).append(subject)
    found: dict[int, list[Accessory]] = {}
    for repository_id, members in by_repository.items():
        referrers = artifact_store.referrers_of(conn, repository_id,
                                                [s.digest for s in members])
        for subject in members:
            found[subject.id] = [
                Accessory(record.id, record.id, subject.id, subject.digest, repository_name,
                          record.total_size, record.digest,
                          accessory_type(record.artifact_type or ""), record.push_time,
                          record.artifact_type or "")
                for record in referrers[subject.digest]
            ]
    return found
