#!/usr/bin/env python3
"""Write a fresh single-platform OCI image in skopeo's ``dir:`` layout (test fixture).

    oci_dir.py DIR LAYERS LAYER_BYTES [BASE_DIR]

Each new layer is a tar of one file of random bytes, gzipped at level 0 (stored blocks:
skopeo pushes it as it is instead of spending a core compressing it), so every run pushes
blobs the registry has never seen; with BASE_DIR (an image this script wrote) the image
starts with that image's layers, so the two share blobs. Files are named by their digest's hex, as
the ``dir:`` transport expects; nothing is held in memory beyond a 1 MiB buffer.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

CHUNK = 1 << 20


def _random_file(path: Path, size: int) -> None:
    with path.open("wb") as handle:
        left = size
        while left:
            handle.write(os.urandom(min(CHUNK, left)))
            left -= min(CHUNK, left)


def _store(directory: Path, source: Path) -> tuple[str, int]:
    """Move SOURCE into DIRECTORY under its digest's hex; return the digest and size."""
    digest = hashlib.sha256()
    with source.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    source.rename(directory / digest.hexdigest())
    return f"sha256:{digest.hexdigest()}", (directory / digest.hexdigest()).stat().st_size


def main() -> None:
    directory, layers, layer_bytes = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    directory.mkdir(parents=True, exist_ok=True)
    descriptors = []
    diff_ids = []
    if len(sys.argv) > 4:
        base = Path(sys.argv[4])
        base_manifest = json.loads((base / "manifest.json").read_text())
        base_config = json.loads(
            (base / base_manifest["config"]["digest"].split(":", 1)[1]).read_text())
        diff_ids.extend(base_config["rootfs"]["diff_ids"])
        for descriptor in base_manifest["layers"]:
            name = descriptor["digest"].split(":", 1)[1]
            shutil.copyfile(base / name, directory / name)
            descriptors.append(descriptor)
    for index in range(layers):
        with tempfile.TemporaryDirectory(dir=directory) as work:
            payload = Path(work) / f"layer{index}.bin"
            _random_file(payload, layer_bytes)
            archive = Path(work) / "layer.tar"
            with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
                tar.add(payload, arcname=payload.name)
            payload.unlink()
            compressed = Path(work) / "layer.tar.gz"
            with archive.open("rb") as source, gzip.open(compressed, "wb", compresslevel=0) as sink:
                shutil.copyfileobj(source, sink, CHUNK)
            diff_id, _ = _store(Path(work), archive)
            digest, size = _store(directory, compressed)
        diff_ids.append(diff_id)
        descriptors.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": digest, "size": size})
    config = {"architecture": "amd64", "os": "linux", "config": {},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    config_path = directory / "config.json.tmp"
    config_path.write_bytes(json.dumps(config, sort_keys=True).encode())
    config_digest, config_size = _store(directory, config_path)
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": config_digest, "size": config_size},
                "layers": descriptors}
    (directory / "manifest.json").write_bytes(json.dumps(manifest, indent=2).encode())
    (directory / "version").write_text("Directory Transport Version: 1.1\n")


if __name__ == "__main__":
    main()
