"""Content builders for the conformance tests: blobs, image configs, layers, manifests, indexes.

Every builder makes fresh random content, so digests never collide between test modules,
backends or runs on the shared server.  ``DataSet`` mirrors the conformance suite's test-data
sets: a graph of blobs and manifests with the tags and referrers a registry must then serve.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import secrets
import tarfile
from dataclasses import dataclass, field
from typing import Any

from ._client import (
    MT_OCI_CONFIG,
    MT_OCI_EMPTY,
    MT_OCI_INDEX,
    MT_OCI_LAYER,
    MT_OCI_LAYER_GZIP,
    MT_OCI_LAYER_ND,
    MT_OCI_LAYER_ND_GZIP,
    MT_OCI_MANIFEST,
    MT_OCTET,
    digest_of,
)

Json = dict[str, Any]

ANNOTATION_KEY = "org.opencontainers.conformance"
EXAMPLE_TYPE_1 = "application/vnd.example.oci.conformance.v1"
EXAMPLE_TYPE_2 = "application/vnd.example.oci.conformance.v2"


def compact_json(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def indented_json(doc: Any) -> bytes:
    return json.dumps(doc, indent="\t").encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def descriptor(data: bytes, media_type: str, algo: str = "sha256", with_data: bool = False) -> Json:
    desc: Json = {"mediaType": media_type, "digest": digest_of(data, algo), "size": len(data)}
    if with_data:
        desc["data"] = b64(data)
    return desc


def image_config(
    platform: tuple[str, str] = ("linux", "amd64"),
    diff_ids: list[str] | None = None,
    author: str | None = None,
    extra_field: bool = False,
) -> Json:
    """An OCI image config; the random author makes its digest unique."""
    config: Json = {
        "author": author if author is not None else f"conformance-{secrets.token_hex(8)}",
        "architecture": platform[1],
        "os": platform[0],
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids or [])},
    }
    if extra_field:
        config[f"org.example.{secrets.token_hex(6)}"] = secrets.token_hex(8)
    return config


def tar_layer(number: int = 0) -> bytes:
    """An uncompressed tarball holding one small text file with random content."""
    payload = (
        f"Conformance test file contents for file number {number}.\n"
        f"Today's lucky number is {secrets.randbelow(2**62)}\n"
    ).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(f"./conformance-{number}.txt")
        info.size = len(payload)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(payload))
    return out.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


@dataclass
class DataSet:
    """A set of content to push, and what the registry must answer about it afterwards."""

    name: str
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[str, bytes] = field(default_factory=dict)
    media_types: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # manifests in push order
    tags: dict[str, str] = field(default_factory=dict)  # tag -> manifest digest
    subjects: dict[str, str] = field(default_factory=dict)  # manifest digest -> subject digest
    referrers: dict[str, list[Json]] = field(default_factory=dict)  # subject -> descriptors

    # -- blobs -------------------------------------------------------------------------------

    def add_blob(
        self,
        data: bytes,
        media_type: str = MT_OCTET,
        algo: str = "sha256",
        with_data: bool = False,
    ) -> Json:
        desc = descriptor(data, media_type, algo, with_data)
        self.blobs[desc["digest"]] = data
        return desc

    def add_layer(
        self, number: int, algo: str = "sha256", compress: bool = True, with_data: bool = False
    ) -> tuple[Json, str]:
        """A tar (optionally gzipped) layer; returns its descriptor and its diff id."""
        tar = tar_layer(number)
        body = gzip_bytes(tar) if compress else tar
        desc = self.add_blob(body, MT_OCI_LAYER_GZIP if compress else MT_OCI_LAYER, algo, with_data)
        return desc, digest_of(tar, algo)

    def add_config(
        self,
        platform: tuple[str, str],
        diff_ids: list[str],
        algo: str = "sha256",
        extra_field: bool = False,
        with_data: bool = False,
    ) -> Json:
        body = compact_json(image_config(platform, diff_ids, extra_field=extra_field))
        return self.add_blob(body, MT_OCI_CONFIG, algo, with_data)

    # -- manifests ---------------------------------------------------------------------------

    def _add_manifest_doc(
        self,
        doc: Json,
        algo: str,
        tag: str | None,
        subject: Json | None,
        artifact_type: str,
        with_data: bool,
    ) -> Json:
        body = compact_json(doc)
        desc = descriptor(body, doc["mediaType"], algo, with_data)
        digest = desc["digest"]
        self.manifests[digest] = body
        self.media_types[digest] = doc["mediaType"]
        self.order.append(digest)
        if tag:
            self.tags[tag] = digest
        if subject is not None:
            self.subjects[digest] = subject["digest"]
            expected: Json = {
                "mediaType": doc["mediaType"],
                "digest": digest,
                "size": len(body),
                "artifactType": artifact_type,
                "annotations": dict(doc.get("annotations") or {}),
            }
            self.referrers.setdefault(subject["digest"], []).append(expected)
        return desc

    def add_manifest(
        self,
        config: Json,
        layers: list[Json],
        *,
        algo: str = "sha256",
        artifact_type: str | None = None,
        subject: Json | None = None,
        annotations: dict[str, str] | None = None,
        unique_annotation: bool = False,
        extra_field: bool = False,
        tag: str | None = None,
        with_data: bool = False,
    ) -> Json:
        doc: Json = {"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST}
        if artifact_type:
            doc["artifactType"] = artifact_type
        doc["config"] = config
        doc["layers"] = layers
        if subject is not None:
            doc["subject"] = subject
        notes = dict(annotations or {})
        if unique_annotation:
            notes[f"org.example.{secrets.token_hex(6)}"] = secrets.token_hex(8)
        if notes:
            doc["annotations"] = notes
        if extra_field:
            doc[f"org.example.{secrets.token_hex(6)}"] = secrets.token_hex(8)
        # A referrer's artifactType is the manifest's, else its config media type.
        effective_type = artifact_type or config["mediaType"]
        return self._add_manifest_doc(doc, algo, tag, subject, effective_type, with_data)

    def add_image(
        self,
        *,
        algo: str = "sha256",
        platform: tuple[str, str] = ("linux", "amd64"),
        layer_count: int = 2,
        compress: bool = True,
        layer_media_type: str | None = None,
        layer_bytes: bytes | None = None,
        config_media_type: str | None = None,
        config_bytes: bytes | None = None,
        artifact_type: str | None = None,
        subject: Json | None = None,
        annotations: dict[str, str] | None = None,
        unique_annotation: bool = False,
        extra_field: bool = False,
        tag: str | None = None,
        with_data: bool = False,
    ) -> Json:
        """An image (or artifact) manifest together with its config and layer blobs."""
        layers: list[Json] = []
        diff_ids: list[str] = []
        for number in range(layer_count):
            if layer_media_type is None or layer_media_type.startswith(MT_OCI_LAYER):
                desc, diff_id = self.add_layer(number, algo, compress, with_data)
            else:
                data = layer_bytes if layer_bytes is not None else os.urandom(2048)
                desc = self.add_blob(data, layer_media_type, algo, with_data)
                diff_id = desc["digest"]
            layers.append(desc)
            diff_ids.append(diff_id)
        if config_media_type is None or config_media_type == MT_OCI_CONFIG:
            config = self.add_config(platform, diff_ids, algo, extra_field, with_data)
        else:
            config = self.add_blob(config_bytes or b"{}", config_media_type, algo, with_data)
        return self.add_manifest(
            config,
            layers,
            algo=algo,
            artifact_type=artifact_type,
            subject=subject,
            annotations=annotations,
            unique_annotation=unique_annotation,
            extra_field=extra_field,
            tag=tag,
            with_data=with_data,
        )

    def add_index(
        self,
        manifests: list[Json],
        *,
        algo: str = "sha256",
        artifact_type: str | None = None,
        subject: Json | None = None,
        annotations: dict[str, str] | None = None,
        unique_annotation: bool = False,
        extra_field: bool = False,
        tag: str | None = None,
        with_data: bool = False,
    ) -> Json:
        doc: Json = {"schemaVersion": 2, "mediaType": MT_OCI_INDEX}
        if artifact_type:
            doc["artifactType"] = artifact_type
        doc["manifests"] = manifests
        if subject is not None:
            doc["subject"] = subject
        notes = dict(annotations or {})
        if unique_annotation:
            notes[f"org.example.{secrets.token_hex(6)}"] = secrets.token_hex(8)
        if notes:
            doc["annotations"] = notes
        if extra_field:
            doc[f"org.example.{secrets.token_hex(6)}"] = secrets.token_hex(8)
        return self._add_manifest_doc(doc, algo, tag, subject, artifact_type or "", with_data)

    def add_image_index(
        self,
        platforms: list[tuple[str, str]] | None = None,
        *,
        tag: str | None = None,
        **options: Any,
    ) -> Json:
        """An index of one image per platform; the options apply to the images and the index
        (as in the suite, so artifact indexes hold artifacts and a subject is on every member).
        Member images have one layer unless told otherwise, to keep the request count down."""
        if platforms is None:
            platforms = [("linux", "amd64"), ("linux", "arm64")]
        image_options = {"layer_count": 1, **options}
        entries: list[Json] = []
        for platform in platforms:
            desc = dict(self.add_image(platform=platform, **image_options))
            desc["platform"] = {"os": platform[0], "architecture": platform[1]}
            entries.append(desc)
        index_options = {
            key: options[key]
            for key in (
                "algo",
                "artifact_type",
                "subject",
                "annotations",
                "unique_annotation",
                "extra_field",
                "with_data",
            )
            if key in options
        }
        return self.add_index(entries, tag=tag, **index_options)


# -- the data sets of the conformance suite ----------------------------------------------------

CONFORMANCE_NOTE = {ANNOTATION_KEY: "hello conformance test"}


def _image(data: DataSet) -> None:
    data.add_image(tag="image")


def _image_uncompressed(data: DataSet) -> None:
    data.add_image(tag="image-uncompressed", compress=False)


def _large_manifest(data: DataSet) -> None:
    # About 3.9 MB of annotations: the spec asks registries to accept manifests up to 4 MiB.
    notes = {f"large-annotation-{i}": "A" * 10000 for i in range(390)}
    data.add_image(tag="large-manifest", annotations=notes)


def _index(data: DataSet) -> None:
    data.add_image_index(tag="index")


def _nested_index(data: DataSet) -> None:
    first = data.add_image_index()
    second = data.add_image_index()
    data.add_index([first, second], tag="index-of-index")


def _empty_index(data: DataSet) -> None:
    data.add_image_index([], tag="index")


def _artifact(data: DataSet) -> None:
    data.add_image(
        tag="artifact",
        artifact_type=EXAMPLE_TYPE_1,
        config_media_type=MT_OCI_EMPTY,
        config_bytes=b"{}",
        layer_count=1,
        layer_media_type=EXAMPLE_TYPE_1,
    )


def _artifact_index(data: DataSet) -> None:
    data.add_image_index(
        tag="artifact-index",
        artifact_type=EXAMPLE_TYPE_1,
        config_media_type=MT_OCI_EMPTY,
        config_bytes=b"{}",
        layer_count=1,
        layer_media_type=EXAMPLE_TYPE_1,
    )


def _artifact_without_layers(data: DataSet) -> None:
    data.add_image(
        tag="artifact-without-layers",
        artifact_type=EXAMPLE_TYPE_1,
        config_media_type=MT_OCI_EMPTY,
        config_bytes=b"{}",
        layer_count=1,
        layer_bytes=b"{}",
        layer_media_type=MT_OCI_EMPTY,
    )


def _artifacts_with_subject(data: DataSet) -> None:
    subject = data.add_image(tag="image")
    data.add_image(subject=subject)
    data.add_image(
        artifact_type=EXAMPLE_TYPE_1,
        annotations=CONFORMANCE_NOTE,
        unique_annotation=True,
        config_media_type=MT_OCI_EMPTY,
        config_bytes=b"{}",
        layer_count=1,
        layer_media_type=EXAMPLE_TYPE_1,
        subject=subject,
        tag="tagged-artifact1",
    )
    data.add_image(
        artifact_type=EXAMPLE_TYPE_2,
        annotations=CONFORMANCE_NOTE,
        unique_annotation=True,
        config_media_type=MT_OCI_EMPTY,
        config_bytes=b"{}",
        layer_count=1,
        layer_media_type=MT_OCTET,
        subject=subject,
        tag="tagged-artifact2",
    )


def _index_with_subject(data: DataSet) -> None:
    subject = data.add_image_index(tag="index")
    data.add_image_index(
        artifact_type=EXAMPLE_TYPE_1,
        annotations=CONFORMANCE_NOTE,
        unique_annotation=True,
        config_media_type=MT_OCI_EMPTY,
        config_bytes=b"{}",
        layer_count=1,
        layer_media_type=EXAMPLE_TYPE_1,
        subject=subject,
        tag="tagged-artifact",
    )


def _missing_subject(data: DataSet) -> None:
    missing = {
        "mediaType": MT_OCI_MANIFEST,
        "size": 123,
        "digest": digest_of(f"missing content {secrets.token_hex(8)}".encode()),
    }
    data.add_image(
        artifact_type=EXAMPLE_TYPE_1,
        annotations=CONFORMANCE_NOTE,
        unique_annotation=True,
        config_media_type=MT_OCI_EMPTY,
        config_bytes=b"{}",
        layer_count=1,
        layer_media_type=EXAMPLE_TYPE_1,
        subject=missing,
        tag="tagged-artifact",
    )


def _data_field(data: DataSet) -> None:
    data.add_image(tag="data-field", with_data=True)


def _non_distributable_layers(data: DataSet) -> None:
    # Two foreign layers whose blobs are never pushed, and one ordinary layer.
    foreign_gz = digest_of(os.urandom(256))
    foreign_tar = digest_of(os.urandom(256))
    layers: list[Json] = [
        {
            "mediaType": MT_OCI_LAYER_ND_GZIP,
            "digest": foreign_gz,
            "size": 123456,
            "urls": [f"https://store.example.com/blobs/sha256/{foreign_gz.split(':')[1]}"],
        },
        {
            "mediaType": MT_OCI_LAYER_ND,
            "digest": foreign_tar,
            "size": 12345,
            "urls": [f"https://store.example.com/blobs/sha256/{foreign_tar.split(':')[1]}"],
        },
    ]
    normal, normal_diff_id = data.add_layer(2)
    layers.append(normal)
    diff_ids = [digest_of(os.urandom(256)), foreign_tar, normal_diff_id]
    config = data.add_config(("linux", "amd64"), diff_ids)
    data.add_manifest(config, layers, tag="non-distributable-image")


def _custom_fields(data: DataSet) -> None:
    data.add_image_index(tag="custom-fields", extra_field=True)


def _no_layers(data: DataSet) -> None:
    data.add_image(tag="no-layers", layer_count=0)


def _sha512(data: DataSet) -> None:
    # Non-canonical digests are pushed by digest only (tags would need the tag parameter).
    data.add_image_index(algo="sha512")


DATA_SET_BUILDERS = {
    "image": _image,
    "image-uncompressed": _image_uncompressed,
    "large-manifest": _large_manifest,
    "index": _index,
    "nested-index": _nested_index,
    "empty-index": _empty_index,
    "artifact": _artifact,
    "artifact-index": _artifact_index,
    "artifact-without-layers": _artifact_without_layers,
    "artifacts-with-subject": _artifacts_with_subject,
    "index-with-subject": _index_with_subject,
    "missing-subject": _missing_subject,
    "data-field": _data_field,
    "non-distributable-layers": _non_distributable_layers,
    "custom-fields": _custom_fields,
    "no-layers": _no_layers,
    "sha512": _sha512,
}


def build_data_set(name: str) -> DataSet:
    data = DataSet(name)
    DATA_SET_BUILDERS[name](data)
    return data


ALL_DATA_SETS = list(DATA_SET_BUILDERS)
# Every set but "sha512" tags something; three sets push manifests with a subject.
DATA_SETS_WITH_TAGS = [name for name in ALL_DATA_SETS if name != "sha512"]
DATA_SETS_WITH_REFERRERS = ["artifacts-with-subject", "index-with-subject", "missing-subject"]


# -- the images of the suite's four workflows (pull, push, discovery, management) ----------------

UNSPECIFIED_FIELD = b64(b"hello world")


@dataclass(frozen=True)
class WorkflowImage:
    """A config blob and the manifest that names it (plus the shared layer, if any)."""

    config: bytes
    manifest: bytes

    @property
    def config_digest(self) -> str:
        return digest_of(self.config)

    @property
    def manifest_digest(self) -> str:
        return digest_of(self.manifest)


def workflow_layer() -> bytes:
    """A small gzipped tarball, the suite's test layer."""
    return gzip_bytes(tar_layer(0))


def workflow_image(
    layer: bytes | None, config: bytes | None = None, media_type_field: bool = True
) -> WorkflowImage:
    """An image as the suite's workflows build it: an indented manifest whose config
    descriptor carries the config in ``data`` and an unknown ``newUnspecifiedField``."""
    if config is None:
        config = indented_json(image_config())
    config_desc = descriptor(config, MT_OCI_CONFIG, with_data=True)
    config_desc["newUnspecifiedField"] = UNSPECIFIED_FIELD
    doc: Json = {"schemaVersion": 2}
    if media_type_field:
        doc["mediaType"] = MT_OCI_MANIFEST
    doc["config"] = config_desc
    doc["layers"] = [descriptor(layer, MT_OCI_LAYER_GZIP)] if layer is not None else []
    return WorkflowImage(config, indented_json(doc))
