"""Garbage collection time for many blobs: seed a registry through its API, then time a
dry run and a real collection.

    .venv/bin/python bench/gc.py [--blobs 10000] [--referenced 2000] [--database-url URL]

Seeds ``--blobs`` small unreferenced blobs (what GC deletes) and ``--referenced`` more in
images of 10 layers (what it must keep), across 20 repositories, with the registry's own
API (monolithic POST, 16 clients). Prints the seconds from the trigger to the recorded end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Bench-Password1"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def start(data: Path, database_url: str) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, HT_PORT="0", HT_DATA=str(data), HT_ADMIN_PASSWORD=PASSWORD,
               HT_REGISTRY_AUTH="none", HT_GC_GRACE_MINUTES="0", HT_LOG_LEVEL="info")
    if database_url:
        env["HT_DATABASE_URL"] = database_url
    process = subprocess.Popen([sys.executable, "-m", "harbor_twisted.cli", "all-in-one"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"listening on ([\d.]+):(\d+)", line)
        if found:
            return process, f"http://{found.group(1)}:{found.group(2)}"
    raise RuntimeError("the registry did not start")


def seed(url: str, blobs: int, referenced: int) -> None:
    session = requests.Session()

    def upload(item: tuple[str, bytes]) -> None:
        repo, data = item
        response = session.post(f"{url}/v2/{repo}/blobs/uploads/",
                                params={"digest": _digest(data)}, data=data, timeout=60)
        response.raise_for_status()

    def image(n: int) -> None:
        repo = f"library/bench{n % 20}"
        layers = [f"kept {n} {i} ".encode() * 8 for i in range(9)]
        config = json.dumps({"n": n}).encode()
        for data in [config, *layers]:
            upload((repo, data))
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": _digest(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": _digest(x), "size": len(x)} for x in layers]}).encode()
        response = session.put(f"{url}/v2/{repo}/manifests/v{n}", data=manifest,
                               headers={"Content-Type": OCI_MANIFEST}, timeout=60)
        response.raise_for_status()

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(upload, ((f"library/bench{n % 20}", f"garbage {n} ".encode() * 8)
                               for n in range(blobs))))
        list(pool.map(image, range(referenced // 10)))


def timed_gc(url: str, **parameters: object) -> tuple[float, dict]:
    auth = ("admin", PASSWORD)
    api = f"{url}/api/v2.0/system/gc"
    started = time.monotonic()
    response = requests.post(f"{api}/schedule", auth=auth, timeout=60,
                             json={"schedule": {"type": "Manual"}, "parameters": parameters})
    response.raise_for_status()
    gc_id = response.headers["Location"].rsplit("/", 1)[1]
    while True:
        history = requests.get(f"{api}/{gc_id}", auth=auth, timeout=60).json()
        if history["job_status"] in ("Success", "Error", "Stopped"):
            break
        time.sleep(0.05)
    wall = time.monotonic() - started
    if history["job_status"] != "Success":
        raise RuntimeError(requests.get(f"{api}/{gc_id}/log", auth=auth, timeout=60).text)
    recorded = (datetime.fromisoformat(history["update_time"].replace("Z", "+00:00"))
                - datetime.fromisoformat(history["creation_time"].replace("Z", "+00:00")))
    # the job's own span (enqueued → ended) excludes our polling; the wall time includes
    # up to one job_poll_seconds of waiting for a worker to claim it
    print(f"  (wall {wall:.2f}s including the claim delay)")
    return recorded.total_seconds(), history["result"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blobs", type=int, default=10_000)
    parser.add_argument("--referenced", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gcbench-") as directory:
        process, url = start(Path(directory) / "data", args.database_url)
        try:
            began = time.monotonic()
            seed(url, args.blobs, args.referenced)
            print(f"seeded {args.blobs} garbage + {args.referenced} referenced blobs "
                  f"in {time.monotonic() - began:.1f}s")
            seconds, result = timed_gc(url, dry_run=True)
            print(f"dry run: {seconds:.2f}s  {result}")
            seconds, result = timed_gc(url, workers=args.workers)
            rate = result["blobs_deleted"] / seconds if seconds else 0
            print(f"gc: {seconds:.2f}s  {result}  ({rate:.0f} blobs/s)")
        finally:
            process.terminate()
            process.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
