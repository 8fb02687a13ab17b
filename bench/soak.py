"""Memory soak: many mixed requests against one harbor-twisted, RSS printed as they go.

    .venv/bin/python bench/soak.py [--requests 100000] [--every 10000] [--set KEY=VALUE]

One client on one keep-alive connection (a new one after every error) sends, in turn: a
token request (Basic), a manifest PUT under one of a few hundred rotating tags, the
manifest's GET, a blob HEAD and GET, the tag list, and REST API lists (projects,
repositories, artifacts, the audit log). The server runs with Docker token auth, as deployed.
RSS is the server's process tree (every worker) from /proc; the verdict compares the last
figure with the one after the first ``--every`` requests (issue 12: under 10 MB growth).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from regbench import client, servers
from regbench.payload import small_blob
from regbench.rss import tree_rss_mib

REPOSITORIES = 20
TAGS = 400  # rotating tags: the database grows a little, as a real registry's does
API = "/api/v2.0"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000, help="print RSS this often")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a key of the server's config file (e.g. workers=1)")
    return parser.parse_args()


class Soak:
    def __init__(self, server: servers.RunningServer) -> None:
        self.server = server
        user, password = client.CREDENTIALS[server.port]
        self.basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.conn = client.connect(server.port)
        self.errors = 0
        self.count = 0
        self.layer = small_blob(os.urandom(2048))
        self.config = small_blob(b'{"architecture":"amd64","os":"linux"}')
        self.manifest = client.image_manifest(self.config, self.layer)

    def repo(self) -> str:
        return f"library/soak-{self.count % REPOSITORIES}"

    def _plain(self, method: str, target: str, headers: dict[str, str] | None = None,
               body: bytes = b"") -> client.Reply:
        return client.request(self.conn, method, target, headers or {}, body)

    def prepare(self) -> None:
        for index in range(REPOSITORIES):
            repo = f"library/soak-{index}"
            for data, digest in (self.config, self.layer):
                client.push_bytes(self.conn, repo, data, digest)
            client.put_manifest(self.conn, repo, "t0", self.manifest)

    def steps(self) -> list[Callable[[], client.Reply]]:
        repo = self.repo()
        tag = f"t{self.count % TAGS}"
        scope = f"repository:{repo}:pull,push"
        basic = {"Authorization": self.basic}
        layer = self.layer[1]
        return [
            lambda: self._plain("GET", f"/service/token?service=harbor-registry&scope={scope}",
                                basic),
            lambda: client.request(self.conn, "PUT", f"/v2/{repo}/manifests/{tag}",
                                   {"Content-Type": client.OCI_MANIFEST}, self.manifest),
            lambda: client.get_manifest(self.conn, repo, tag),
            lambda: client.request(self.conn, "HEAD", f"/v2/{repo}/blobs/{layer}"),
            lambda: client.request(self.conn, "GET", f"/v2/{repo}/blobs/{layer}"),
            lambda: client.request(self.conn, "GET", f"/v2/{repo}/tags/list"),
            lambda: self._plain("GET", f"{API}/projects?page_size=10", basic),
            lambda: self._plain("GET", f"{API}/projects/library/repositories?page_size=10",
                                basic),
            lambda: self._plain(
                "GET", f"{API}/projects/library/repositories/{repo.split('/', 1)[1]}"
                "/artifacts?page_size=10", basic),
            lambda: self._plain("GET", f"{API}/audit-logs?page_size=10", basic),
        ]

    def one(self, step: Callable[[], client.Reply]) -> None:
        try:
            reply = step()
            if reply.status >= 400:
                self.errors += 1
                if self.errors <= 5:
                    print(f"  status {reply.status}: {reply.body[:200]!r}", flush=True)
        except (OSError, http.client.HTTPException, client.ProtocolError) as error:
            self.errors += 1
            print(f"  {type(error).__name__}: {error}", flush=True)
            self.conn.close()
            self.conn = client.connect(self.server.port)
        self.count += 1


def run(args: argparse.Namespace, workdir: Path) -> int:
    overrides: dict[str, object] = {"registry_auth": "token"}
    for item in args.set:
        key, _, text = item.partition("=")
        try:
            overrides[key] = json.loads(text)
        except json.JSONDecodeError:
            overrides[key] = text
    spec = servers.ServerSpec("soak", "harbor", servers.HARBOR_BIN, overrides)
    with servers.running([spec], workdir) as (server,):
        soak = Soak(server)
        soak.prepare()
        start_rss = tree_rss_mib(server.pid)
        print(f"after start and {REPOSITORIES} images: RSS {start_rss:.1f} MiB", flush=True)
        marks: list[float] = []
        started = time.monotonic()
        while soak.count < args.requests:
            for step in soak.steps():
                soak.one(step)
                if soak.count % args.every == 0:
                    marks.append(tree_rss_mib(server.pid))
                    rate = soak.count / (time.monotonic() - started)
                    print(f"{soak.count:>7} requests  RSS {marks[-1]:7.1f} MiB  "
                          f"{rate:6.0f} req/s  errors {soak.errors}", flush=True)
                if soak.count >= args.requests:
                    break
    if len(marks) < 2:
        return 0
    growth = marks[-1] - marks[0]
    print(f"growth after the first {args.every} requests: {growth:+.1f} MiB "
          f"({'under' if growth < 10 else 'NOT under'} 10 MB); errors: {soak.errors}")
    return 0 if growth < 10 and soak.errors == 0 else 1


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    try:
        return run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
