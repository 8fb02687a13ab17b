"""The registry's metadata tables (SQLAlchemy Core).

The database is the source of truth for what exists where: which blobs a repository may
serve, which manifests and tags it holds, which manifests refer to which, and which uploads
are in progress. Blob bytes live in the blob store; manifest bodies (at most a few MiB) live
here, so a manifest GET is one query.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

DIGEST = String(150)  # "sha512:" + 128 hex digits, with room to spare
NAME = String(255)

repository = Table(
    "repository",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", NAME, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # pulls of its artifacts, kept by the registry's batched pull recording (registry/audit.py)
    Column("pull_count", Integer, nullable=False, server_default="0"),
)

blob = Table(
    "blob",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("digest", DIGEST, nullable=False, unique=True),
    Column("size", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

repository_blob = Table(
    "repository_blob",
    metadata,
    Column(
        "repository_id",
        Integer,
        ForeignKey("repository.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("blob_id", Integer, ForeignKey("blob.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_repository_blob_blob_id", "blob_id"),
)

manifest = Table(
    "manifest",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "repository_id",
        Integer,
        ForeignKey("repository.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("digest", DIGEST, nullable=False),
    Column("media_type", String(255), nullable=False),
    Column("artifact_type", String(255), nullable=True),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("subject_digest", DIGEST, nullable=True),
    Column("annotations", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("pull_time", DateTime(timezone=True), nullable=True),  # the last pull by digest or tag
    # Harbor's artifact size: this manifest, its config and layers, and its children present
    # in the repository (kept by artifact_size on push and delete), so lists sort by it
    Column("total_size", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("repository_id", "digest"),
    Index("ix_manifest_repository_id_subject_digest", "repository_id", "subject_digest"),
    # the artifact list's default order (newest push first), page by page
    Index("ix_manifest_repository_id_created_at_id", "repository_id", "created_at", "id"),
    Index("ix_manifest_repository_id_total_size_id", "repository_id", "total_size", "id"),
)

# Blobs a manifest references (config and layers): what garbage collection marks.
manifest_blob = Table(
    "manifest_blob",
    metadata,
    Column(
        "manifest_id",
        Integer,
        ForeignKey("manifest.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("blob_id", Integer, ForeignKey("blob.id"), primary_key=True),
    Index("ix_manifest_blob_blob_id", "blob_id"),
)

# Child manifests of an image index or manifest list, by digest in the same repository
# (the parent's, repeated so "which artifacts of R are children" is one index range).
manifest_child = Table(
    "manifest_child",
    metadata,
    Column(
        "parent_id",
        Integer,
        ForeignKey("manifest.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("child_digest", DIGEST, primary_key=True),
    Column("repository_id", Integer, nullable=False),
    Index("ix_manifest_child_repository_id_child_digest", "repository_id", "child_digest"),
)

tag = Table(
    "tag",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "repository_id",
        Integer,
        ForeignKey("repository.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(128), nullable=False),
    Column(
        "manifest_id",
        Integer,
        ForeignKey("manifest.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("pull_time", DateTime(timezone=True), nullable=True),  # the last pull by this tag
    UniqueConstraint("repository_id", "name"),
    Index("ix_tag_manifest_id", "manifest_id"),
    # the repository's tagged artifacts, counted in one index range (tags=* and tags=nil)
    Index("ix_tag_repository_id_manifest_id", "repository_id", "manifest_id"),
    Index("ix_tag_repository_id_updated_at", "repository_id", "updated_at"),
)

upload = Table(
    "upload",
    metadata,
    Column("uuid", String(36), primary_key=True),
    Column("repository_name", NAME, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_upload_updated_at", "updated_at"),
)
