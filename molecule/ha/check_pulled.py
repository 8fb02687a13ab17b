#!/usr/bin/env python3
"""Compare an image pulled with skopeo (``dir:``) with the one pushed (test fixture).

    check_pulled.py PUSHED_DIR PULLED_DIR PUSHED_DIGEST_FILE

Exits non-zero, saying why, unless the pulled manifest is the pushed one byte for byte, its
digest is the one the push was acknowledged with, and every blob it names was pulled with
the content its digest names.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def main() -> int:
    pushed, pulled, digest_file = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    acknowledged = digest_file.read_text().strip()
    problems = []
    if (pulled / "manifest.json").read_bytes() != (pushed / "manifest.json").read_bytes():
        problems.append("the pulled manifest differs from the pushed one")
    manifest_digest = _sha256(pulled / "manifest.json")
    if manifest_digest != acknowledged:
        problems.append(f"manifest digest {manifest_digest} != pushed {acknowledged}")
    manifest = json.loads((pulled / "manifest.json").read_text())
    for descriptor in [manifest["config"], *manifest["layers"]]:
        blob = pulled / descriptor["digest"].split(":", 1)[1]
        if not blob.exists():
            problems.append(f"{descriptor['digest']} not pulled")
        elif _sha256(blob) != descriptor["digest"] or blob.stat().st_size != descriptor["size"]:
            problems.append(f"{descriptor['digest']} pulled with other content")
    for problem in problems:
        print(f"{pulled}: {problem}")
    if not problems:
        print(f"{pulled}: {acknowledged} and {len(manifest['layers']) + 1} blobs intact")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
