"""Replication throughput against ``skopeo copy`` between the same kind of instances.

Starts a source harbor-twisted A and pushes one image (``--layers`` random layers of
``--mib`` MiB) to it. Each of ``--rounds`` rounds starts two fresh destinations B1 and B2 and
times ``skopeo copy`` A → B1 and a manual push-based replication A → B2 (from POST
/replication/executions to Success); who goes first alternates per round. Prints every
round and the medians (two identical servers differ by up to ±15% on these machines).

    .venv/bin/python bench/replication.py --layers 4 --mib 64 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.rest.conftest import Client  # noqa: E402
from tests.support.oci import OCI_CONFIG, OCI_LAYER, descriptor, push_blob  # noqa: E402
from tests.support.server import admin_http, start_server  # noqa: E402

FAST = {"HT_JOB_POLL_SECONDS": "1", "HT_LOG_LEVEL": "warning"}


def _push(url: str, repo: str, layers: int, mib: int) -> int:
    blobs = [os.urandom(mib * 1024 * 1024) for _ in range(layers)]
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    for blob in [config, *blobs]:
        push_blob(url, repo, blob)
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": descriptor(OCI_CONFIG, config),
                           "layers": [descriptor(OCI_LAYER, b) for b in blobs]}).encode()
    response = admin_http.put(f"{url}/v2/{repo}/manifests/v1", data=manifest, headers={
        "Content-Type": "application/vnd.oci.image.manifest.v1+json"}, timeout=60)
    assert response.status_code == 201, response.text
    return sum(len(b) for b in blobs) + len(config)


def _skopeo(a: object, b: object, repo: str) -> float:
    started = time.monotonic()
    subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false",
                    "--dest-tls-verify=false",
                    "--src-creds", f"admin:{a.admin_password}",  # type: ignore[attr-defined]
                    "--dest-creds", f"admin:{b.admin_password}",  # type: ignore[attr-defined]
                    f"docker://{a.host}/{repo}:v1",  # type: ignore[attr-defined]
                    f"docker://{b.host}/{repo}:v1"], check=True)  # type: ignore[attr-defined]
    return time.monotonic() - started


def _replicate(a: object, b: object, repo: str, suffix: str) -> float:
    client = Client(a.url, ("admin", a.admin_password))  # type: ignore[attr-defined]
    response = client.post("/registries", json={
        "name": f"b{suffix}", "type": "harbor", "url": b.url,  # type: ignore[attr-defined]
        "credential": {"access_key": "admin",
                       "access_secret": b.admin_password}})  # type: ignore[attr-defined]
    endpoint = int(response.headers["Location"].rsplit("/", 1)[1])
    response = client.post("/replication/policies", json={
        "name": f"bench{suffix}", "dest_registry": {"id": endpoint},
        "filters": [{"type": "name", "value": repo}], "trigger": {"type": "manual"}})
    policy = int(response.headers["Location"].rsplit("/", 1)[1])
    started = time.monotonic()
    response = client.post("/replication/executions", json={"policy_id": policy})
    execution = int(response.headers["Location"].rsplit("/", 1)[1])
    while True:
        status = client.get(f"/replication/executions/{execution}").json()["status"]
        if status in ("Success", "Error", "Stopped"):
            break
        time.sleep(0.05)
    assert status == "Success", status
    return time.monotonic() - started


def _round(a: object, tmp: Path, number: int, repo: str) -> tuple[float, float]:
    """(skopeo seconds, replication seconds) into two fresh destinations."""
    b1, b2 = (start_server(tmp / f"{name}{number}", extra_env=FAST) for name in ("b1-", "b2-"))
    try:
        if number % 2:
            ours = _replicate(a, b2, repo, str(number))
            skopeo = _skopeo(a, b1, repo)
        else:
            skopeo = _skopeo(a, b1, repo)
            ours = _replicate(a, b2, repo, str(number))
        return skopeo, ours
    finally:
        b1.stop()
        b2.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds = []
    with tempfile.TemporaryDirectory(prefix="ht-bench-repl-") as tmp:
        a = start_server(Path(tmp) / "a", extra_env=FAST)
        try:
            repo = "library/bench-repl"
            size = _push(a.url, repo, args.layers, args.mib)
            for number in range(args.rounds):
                skopeo, ours = _round(a, Path(tmp), number, repo)
                rounds.append({"skopeo_seconds": round(skopeo, 2),
                               "replication_seconds": round(ours, 2),
                               "ratio": round(skopeo / ours, 2)})
                print(json.dumps({"round": number + 1, **rounds[-1]}), flush=True)
        finally:
            a.stop()
    mib = size / 1024 / 1024
    skopeo = statistics.median(r["skopeo_seconds"] for r in rounds)
    ours = statistics.median(r["replication_seconds"] for r in rounds)
    print(json.dumps({"bytes": size, "rounds": len(rounds),
                      "median_skopeo_seconds": round(skopeo, 2),
                      "median_replication_seconds": round(ours, 2),
                      "skopeo_mib_s": round(mib / skopeo, 1),
                      "replication_mib_s": round(mib / ours, 1),
                      "median_ratio_replication_over_skopeo":
                          statistics.median(r["ratio"] for r in rounds)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
