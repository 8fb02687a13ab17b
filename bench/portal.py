"""List endpoints and portal pages at registry scale: fill a database through the models,
then time what a portal asks for and the pages it renders, on SQLite and on PostgreSQL.

    .venv/bin/python bench/portal.py                    # both databases, full size
    .venv/bin/python bench/portal.py --databases sqlite --rounds 9
    .venv/bin/python bench/portal.py --scale 0.1        # a tenth of the rows, quicker

The generator writes rows with bulk inserts through the SQLAlchemy tables of
``harbor_twisted.db`` (not through HTTP): one repository ``library/big`` with 100,000
artifacts (tag ``t<i>`` each; 1,000 of them image indexes of two hidden children), 10,000
repositories of one artifact in project ``many``, 1,000 more projects, and 1,000,000 audit
rows (mostly pulls of ``library/big``). Databases are cached under ``build/portal-bench/``
by schema revision and size, so a rerun only times. PostgreSQL runs as a throwaway cluster
(Debian's binaries, as the tests start it) whose data directory is kept there too.

The portal's pages are timed the same way, signed in through the login form (a session
cookie, as a browser holds it); their hash covers the page without its CSRF token.

Each endpoint is asked once to warm up, then ``--rounds`` times; the table shows the median
wall time of the request on loopback (keep-alive, Basic auth cached by the server), the
``X-Total-Count`` and a short hash of the body, so two runs (before and after a change)
can be compared for identical answers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, Table, bindparam, create_engine, insert, select, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harbor_twisted.db import migrate  # noqa: E402
from harbor_twisted.db.identity_models import audit_log, project, user  # noqa: E402
from harbor_twisted.db.models import (  # noqa: E402
    blob,
    manifest,
    manifest_blob,
    manifest_child,
    repository,
    tag,
)

CACHE = ROOT / "build" / "portal-bench"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "Bench-Password1"
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
GENERATOR_VERSION = 2  # bump when the generated rows change
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CHUNK = 20_000


@dataclass(frozen=True)
class Sizes:
    artifacts: int  # in library/big, indexes and children included
    repositories: int  # in project "many"
    projects: int  # besides library and many
    audit: int

    @property
    def indexes(self) -> int:
        return self.artifacts // 100

    @property
    def key(self) -> str:
        return f"a{self.artifacts}-r{self.repositories}-p{self.projects}-l{self.audit}"


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _bulk(engine: Engine, table: Table, rows: Iterator[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for batch in _chunks(rows):
            conn.execute(insert(table), batch)


def _image(i: int, config: str) -> tuple[str, bytes, str]:
    layer = _digest(f"layer-{i}")
    body = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config, "size": 100},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer, "size": 1000 + i % 5000}],
    }, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(body).hexdigest(), body, layer


def _index(children: list[str]) -> tuple[str, bytes]:
    body = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": d, "size": 400,
                       "platform": {"architecture": arch, "os": "linux"}}
                      for d, arch in zip(children, ("amd64", "arm64"), strict=False)],
    }, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(body).hexdigest(), body


def generate(engine: Engine, sizes: Sizes) -> None:
    """Fill a migrated, empty database (the server creates admin and library later)."""
    started = time.monotonic()
    with engine.begin() as conn:
        admin = conn.execute(select(user.c.id).where(user.c.username == "admin")).scalar()
        now = BASE_TIME
        projects = [{"name": "many", "public": False}]
        projects += [{"name": f"proj-{i:04d}", "public": i % 2 == 0}
                     for i in range(sizes.projects)]
        conn.execute(insert(project), [
            {**p, "owner_id": admin, "creation_time": now, "update_time": now} for p in projects
        ])
        ids = dict(conn.execute(select(project.c.name, project.c.id)).all())
    config = _digest("config")
    _bulk(engine, blob, iter([{"digest": config, "size": 100, "created_at": BASE_TIME}]))

    # library/big: images, every 100th manifest an index over the two images before it
    with engine.begin() as conn:
        big = conn.execute(insert(repository).values(
            name="library/big", created_at=BASE_TIME)).inserted_primary_key[0]
    images: list[tuple[int, str, bytes, str]] = []
    indexes: list[tuple[int, str, bytes, list[str]]] = []
    for i in range(sizes.artifacts):
        if i % 100 == 99:
            children = [images[-1][1], images[-2][1]]
            digest, body = _index(children)
            indexes.append((i, digest, body, children))
        else:
            digest, body, layer = _image(i, config)
            images.append((i, digest, body, layer))

    # Harbor's artifact size, as the registry keeps it: manifest, config, layer, children
    totals = {digest: len(body) + 100 + 1000 + i % 5000 for i, digest, body, _ in images}
    totals |= {digest: len(body) + sum(totals[c] for c in children)
               for _, digest, body, children in indexes}

    def manifest_rows() -> Iterator[dict[str, Any]]:
        for i, digest, body, _ in images:
            yield _manifest_row(big, i, digest, OCI_MANIFEST, body)
        for i, digest, body, _ in indexes:
            yield _manifest_row(big, i, digest, OCI_INDEX, body)

    def _manifest_row(repo: int, i: int, digest: str, media: str, body: bytes) -> dict[str, Any]:
        row = {"repository_id": repo, "digest": digest, "media_type": media,
               "artifact_type": OCI_CONFIG if media == OCI_MANIFEST else None,
               "size": len(body), "content": body, "subject_digest": None,
               "annotations": None, "created_at": BASE_TIME + timedelta(seconds=i)}
        if "total_size" in manifest.c:
            row["total_size"] = totals.get(digest, len(body)) if repo == big else len(body)
        return row

    _bulk(engine, manifest, manifest_rows())
    _bulk(engine, blob, ({"digest": layer, "size": 1000 + i % 5000, "created_at": BASE_TIME}
                         for i, _, _, layer in images))
    with engine.begin() as conn:
        blob_ids = dict(conn.execute(select(blob.c.digest, blob.c.id)).all())
        manifest_ids = dict(conn.execute(
            select(manifest.c.digest, manifest.c.id).where(manifest.c.repository_id == big)
        ).all())
    _bulk(engine, manifest_blob, (
        {"manifest_id": manifest_ids[d], "blob_id": blob_ids[b]}
        for _, d, _, layer in images for b in (config, layer)))
    child_rows = ({"parent_id": manifest_ids[d], "child_digest": c}
                  for _, d, _, children in indexes for c in children)
    if "repository_id" in manifest_child.c:
        child_rows = ({**row, "repository_id": big} for row in child_rows)
    _bulk(engine, manifest_child, child_rows)
    hidden = {c for _, _, _, children in indexes for c in children}
    listed = [(i, d) for i, d, _, _ in images if d not in hidden]
    listed += [(i, d) for i, d, _, _ in indexes]
    pulled_tag = sorted(i for i, _ in listed if i < 5000)[::3]
    pulled_digest = sorted(i for i, _ in listed if i < 1000)[::7]

    def tag_rows() -> Iterator[dict[str, Any]]:
        for i, digest in listed:
            row = {"repository_id": big, "name": f"t{i}", "manifest_id": manifest_ids[digest],
                   "updated_at": BASE_TIME + timedelta(seconds=i)}
            yield row

    _bulk(engine, tag, tag_rows())

    # project "many": repositories of one image each
    _bulk(engine, repository, ({"name": f"many/repo-{i:05d}",
                                "created_at": BASE_TIME + timedelta(minutes=i)}
                               for i in range(sizes.repositories)))
    with engine.begin() as conn:
        repo_ids = dict(conn.execute(select(repository.c.name, repository.c.id).where(
            repository.c.name.startswith("many/"))).all())
    digest, body, layer = _image(10**9, config)
    _bulk(engine, manifest, (_manifest_row(repo_ids[f"many/repo-{i:05d}"], i, digest,
                                           OCI_MANIFEST, body)
                             for i in range(sizes.repositories)))
    with engine.begin() as conn:
        many_manifests = conn.execute(select(manifest.c.repository_id, manifest.c.id).where(
            manifest.c.repository_id != big)).all()
    _bulk(engine, tag, ({"repository_id": r, "name": "latest", "manifest_id": m,
                         "updated_at": BASE_TIME} for r, m in many_manifests))

    # the audit log: pulls of library/big (by tag and by digest), pushes elsewhere
    tag_pulls: dict[int, datetime] = {}  # the last pull of each, as the registry keeps it
    digest_pulls: dict[int, datetime] = {}
    by_index = {i: d for i, d, _, _ in images} | {i: d for i, d, _, _ in indexes}

    def audit_rows() -> Iterator[dict[str, Any]]:
        tags_pulled, digests_pulled = pulled_tag, pulled_digest
        for n in range(sizes.audit):
            when = BASE_TIME + timedelta(seconds=n * 30)
            if n % 10 < 8:
                i = tags_pulled[n % len(tags_pulled)]
                tag_pulls[i] = when
                yield _audit(ids["library"], "pull", f"library/big:t{i}", when)
            elif n % 10 == 8:
                i = digests_pulled[n % len(digests_pulled)]
                digest_pulls[i] = when
                yield _audit(ids["library"], "pull", f"library/big@{by_index[i]}", when)
            else:
                yield _audit(ids["many"], "create", f"many/repo-{n % 10_000:05d}:latest", when)

    _bulk(engine, audit_log, audit_rows())
    _keep_audit_counts(engine)
    if "pull_count" in repository.c:
        _keep_pull_columns(engine, big, manifest_ids, by_index, tag_pulls, digest_pulls,
                           sizes.audit // 10 * 9 + min(sizes.audit % 10, 9))
    print(f"  generated in {time.monotonic() - started:.0f} s", flush=True)


def _keep_audit_counts(engine: Engine) -> None:
    """The per-project entry counts that writing through audit_store keeps."""
    try:
        from harbor_twisted.db.identity_models import audit_log_count
    except ImportError:  # a schema before those counts
        return
    from sqlalchemy import delete, func
    project_key = func.coalesce(audit_log.c.project_id, 0)
    with engine.begin() as conn:
        counts = conn.execute(select(project_key, func.count()).group_by(project_key)).all()
        conn.execute(delete(audit_log_count))
        conn.execute(insert(audit_log_count),
                     [{"project_id": p, "entries": n} for p, n in counts])


def _keep_pull_columns(
    engine: Engine, big: int, manifest_ids: dict[str, int], by_index: dict[int, str],
    tag_pulls: dict[int, datetime], digest_pulls: dict[int, datetime], pulls: int,
) -> None:
    """What the registry's batched pull recording keeps beside the audit rows."""
    last: dict[int, datetime] = {}
    for i, moment in [*tag_pulls.items(), *digest_pulls.items()]:
        key = manifest_ids[by_index[i]]
        last[key] = max(last.get(key, moment), moment)
    with engine.begin() as conn:
        conn.execute(update(repository).where(repository.c.id == big).values(
            pull_count=pulls))
        conn.execute(update(manifest).where(manifest.c.id == bindparam("mid")).values(
            pull_time=bindparam("moment")), [{"mid": k, "moment": v} for k, v in last.items()])
        conn.execute(update(tag).where(tag.c.repository_id == big,
                                       tag.c.name == bindparam("tname")).values(
            pull_time=bindparam("moment")),
            [{"tname": f"t{i}", "moment": v} for i, v in tag_pulls.items()])


def _audit(project_id: int, operation: str, resource: str, when: datetime) -> dict[str, Any]:
    return {"project_id": project_id, "username": "admin", "client_ip": "127.0.0.1",
            "operation": operation, "resource_type": "artifact", "resource": resource,
            "detail": None, "op_time": when}


# -- databases ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class PostgresCluster:
    """A cluster whose data directory stays under build/ between runs."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()

    def start(self) -> None:
        data = self.directory / "data"
        if not data.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                entry = pwd.getpwnam("postgres")
                os.chown(self.directory, entry.pw_uid, entry.pw_gid)
            subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-A",
                                         "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]),
                           check=True, capture_output=True, timeout=120)
        options = (f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c shared_buffers=256MB")
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options,
                                     "-l", str(self.directory / "log"), "-w", "-t", "60",
                                     "start"]), check=True, capture_output=True, timeout=90)

    def stop(self) -> None:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D",
                                     str(self.directory / "data"), "-m", "fast", "-w", "stop"]),
                       capture_output=True, timeout=60)

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def exists(self, name: str) -> bool:
        engine = create_engine(self.url("postgres"))
        with engine.connect() as conn:
            found = conn.exec_driver_sql(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)).first()
        engine.dispose()
        return found is not None

    def run_sql(self, sql: str) -> None:
        engine = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
        engine.dispose()


def _prepare(url: str, sizes: Sizes, data: Path) -> None:
    """Migrate, let a first server start create admin and library's defaults, then fill."""
    engine = create_engine(url)
    migrate.upgrade(engine)
    server = Server(data, url)
    server.stop()
    generate(engine, sizes)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def sqlite_database(sizes: Sizes, revision: str) -> tuple[str, Path]:
    directory = CACHE / f"sqlite-{revision}-{sizes.key}-g{GENERATOR_VERSION}"
    ready = directory / "ready"
    if not ready.exists():
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        print(f"generating {directory.name}", flush=True)
        _prepare(f"sqlite:///{directory / 'registry.db'}", sizes, directory)
        ready.touch()
    return f"sqlite:///{directory / 'registry.db'}", directory


def postgres_database(cluster: PostgresCluster, sizes: Sizes, revision: str
                      ) -> tuple[str, Path]:
    name = f"bench_{revision}_{sizes.key}_g{GENERATOR_VERSION}".replace("-", "_").lower()
    directory = CACHE / f"pg-{name}"
    if not (directory / "ready").exists() or not cluster.exists(name):
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        print(f"generating {name}", flush=True)
        cluster.run_sql(f"DROP DATABASE IF EXISTS {name}")
        cluster.run_sql(f"CREATE DATABASE {name}")
        _prepare(cluster.url(name), sizes, directory)
        (directory / "ready").touch()
    return cluster.url(name), directory


# -- the service and the timings -------------------------------------------------------------


class Server:
    def __init__(self, data: Path, url: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HT_")}
        env.update(HT_PORT="0", HT_DATA=str(data), HT_ADMIN_PASSWORD=PASSWORD,
                   HT_DATABASE_URL=url, HT_REGISTRY_AUTH="none", HT_LOG_LEVEL="info")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "harbor_twisted.cli", "all-in-one"], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        self.url = ""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if "listening on" in line:
                self.url = "http://" + line.rsplit("listening on", 1)[1].strip().split()[0]
                break
        if not self.url:
            raise RuntimeError("the server did not start")
        threading_drain(self.process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/api/v2.0/ping", timeout=5).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("the server did not answer")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def threading_drain(process: subprocess.Popen[str]) -> None:
    import threading

    def drain() -> None:
        assert process.stdout is not None
        for _ in process.stdout:
            pass

    threading.Thread(target=drain, daemon=True).start()


def endpoints(sizes: Sizes) -> list[tuple[str, str]]:
    """(label, path) of every list a portal page asks for."""
    api = "/api/v2.0"
    big = f"{api}/projects/library/repositories/big/artifacts"
    listed = sizes.artifacts - 2 * sizes.indexes  # an index hides two images
    last_artifacts = -(-listed // 15)
    last_repos = -(-sizes.repositories // 15)
    last_projects = -(-(sizes.projects + 2) // 15)
    last_audit = -(-sizes.audit // 15)
    return [
        ("projects p1", f"{api}/projects?page=1&page_size=15"),
        ("projects last", f"{api}/projects?page={last_projects}&page_size=15"),
        ("projects name~", f"{api}/projects?page=1&page_size=15&q=name%3D~proj-09"),
        ("repos(many) p1", f"{api}/projects/many/repositories?page=1&page_size=15"),
        ("repos(many) last",
         f"{api}/projects/many/repositories?page={last_repos}&page_size=15"),
        ("repos(many) name~",
         f"{api}/projects/many/repositories?page=1&page_size=15&q=name%3D~repo-09"),
        ("repos(many) sort name",
         f"{api}/projects/many/repositories?page=1&page_size=15&sort=name"),
        ("repos(library) p1", f"{api}/projects/library/repositories?page=1&page_size=15"),
        ("repositories all p1", f"{api}/repositories?page=1&page_size=15"),
        ("artifacts p1", f"{big}?page=1&page_size=15"),
        ("artifacts p500", f"{big}?page=500&page_size=15"),
        ("artifacts last", f"{big}?page={last_artifacts}&page_size=15"),
        ("artifacts beyond", f"{big}?page={last_artifacts + 1}&page_size=15"),
        ("artifacts tags=t99", f"{big}?page=1&page_size=15&q=tags%3Dt99"),
        ("artifacts tags=~t9999", f"{big}?page=1&page_size=15&q=tags%3D~t9999"),
        ("artifacts sort size", f"{big}?page=1&page_size=15&sort=size"),
        ("artifacts sort push_time", f"{big}?page=1&page_size=15&sort=push_time"),
        ("artifact tags", f"{big}/t5/tags?page=1&page_size=15"),
        ("audit p1", f"{api}/audit-logs?page=1&page_size=15"),
        ("audit last", f"{api}/audit-logs?page={last_audit}&page_size=15"),
        ("audit operation=create",
         f"{api}/audit-logs?page=1&page_size=15&q=operation%3Dcreate"),
        ("audit resource~", f"{api}/audit-logs?page=1&page_size=15&q=resource%3D~t4999"),
        ("project logs p1", f"{api}/projects/library/logs?page=1&page_size=15"),
        ("project logs last",
         f"{api}/projects/many/logs?page={-(-sizes.audit // 10 // 15)}&page_size=15"),
        ("search", f"{api}/search?q=repo-099"),
        ("registry tags/list n=100", "/v2/library/big/tags/list?n=100"),
        ("registry catalog n=100", "/v2/_catalog?n=100"),
    ]


def pages(sizes: Sizes, digest: str) -> list[tuple[str, str]]:
    """(label, path) of the portal's pages over the same data (``digest``: an artifact of
    library/big)."""
    big = "/harbor/projects/library/repositories/big"
    listed = sizes.artifacts - 2 * sizes.indexes
    return [
        ("page projects p1", "/harbor/projects"),
        ("page projects last", f"/harbor/projects?page={-(-(sizes.projects + 2) // 15)}"),
        ("page projects name~", "/harbor/projects?name=proj-09"),
        ("page project(many) p1", "/harbor/projects/many"),
        ("page project(many) last",
         f"/harbor/projects/many?page={-(-sizes.repositories // 15)}"),
        ("page project(many) name~", "/harbor/projects/many?name=repo-09"),
        ("page repository p1", big),
        ("page repository last", f"{big}?page={-(-listed // 15)}"),
        ("page repository oldest", f"{big}?sort=push_time"),
        ("page repository tag~t9999", f"{big}?tag=t9999"),
        ("page repository untagged", f"{big}?show=untagged"),
        ("page repository tagged", f"{big}?show=tagged"),
        ("page artifact", f"{big}/-/artifacts/{digest}"),
        ("page project logs", "/harbor/projects/library/logs"),
        ("page project logs delete", "/harbor/projects/library/logs?operation=delete"),
        ("page audit log p1", "/harbor/admin/audit-log"),
        ("page audit log last", f"/harbor/admin/audit-log?page={-(-sizes.audit // 15)}"),
        ("page audit operation", "/harbor/admin/audit-log?operation=create"),
        ("page audit operation none", "/harbor/admin/audit-log?operation=delete"),
        ("page audit user", "/harbor/admin/audit-log?username=admin"),
        ("page audit user oldest", "/harbor/admin/audit-log?username=admin&order=oldest"),
        ("page audit type+resource",
         "/harbor/admin/audit-log?resource_type=artifact&resource=t4999"),
        ("page search", "/harbor/search?q=repo-099"),
    ]


def _timed(session: requests.Session, url: str, rounds: int, label: str) -> tuple:
    answer = session.get(url, timeout=600, allow_redirects=False)
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        answer = session.get(url, timeout=600, allow_redirects=False)
        samples.append(time.perf_counter() - started)
    body = re.sub(rb'name="_csrf" value="[^"]*"', b"", answer.content)
    result = (statistics.median(samples) * 1000, answer.status_code,
              answer.headers.get("X-Total-Count", ""), hashlib.sha256(body).hexdigest()[:8])
    print(f"  {label:28} {result[0]:9.1f} ms", flush=True)
    return result


def time_endpoints(server: Server, sizes: Sizes, rounds: int) -> dict[str, tuple]:
    session = requests.Session()
    session.auth = ("admin", PASSWORD)
    results = {label: _timed(session, server.url + path, rounds, label)
               for label, path in endpoints(sizes)}
    first = session.get(f"{server.url}/api/v2.0/projects/library/repositories/big/artifacts"
                        "?page=1&page_size=1", timeout=600).json()
    browser = requests.Session()
    browser.headers["Accept"] = "text/html"
    signed_in = browser.post(f"{server.url}/c/login", timeout=60, allow_redirects=False,
                             data={"principal": "admin", "password": PASSWORD})
    if signed_in.status_code != 303 or "sid" not in browser.cookies:
        raise RuntimeError(f"the portal's sign-in answered {signed_in.status_code}")
    for label, path in pages(sizes, first[0]["digest"]):
        results[label] = _timed(browser, server.url + path, rounds, label)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    sizes = Sizes(int(100_000 * args.scale), int(10_000 * args.scale),
                  int(1_000 * args.scale), int(1_000_000 * args.scale))
    schema = hashlib.sha256(b"".join(
        p.read_bytes() for p in sorted((migrate.MIGRATIONS / "versions").glob("*.py"))))
    revision = f"{migrate.head_revision() or 'none'}-{schema.hexdigest()[:8]}"
    table: dict[str, dict[str, tuple]] = {}
    cluster = None
    try:
        for kind in args.databases.split(","):
            if kind == "sqlite":
                url, data = sqlite_database(sizes, revision)
            else:
                if cluster is None:
                    cluster = PostgresCluster(CACHE / "pg-cluster")
                    cluster.start()
                url, data = postgres_database(cluster, sizes, revision)
            print(f"timing {kind}", flush=True)
            server = Server(data, url)
            try:
                table[kind] = time_endpoints(server, sizes, args.rounds)
            finally:
                server.stop()
    finally:
        if cluster is not None:
            cluster.stop()
    kinds = list(table)
    print()
    print(f"{'endpoint':28}" + "".join(f" {k:>10} ms  total/hash       " for k in kinds))
    for label in table[kinds[0]] if kinds else []:
        cells = []
        for kind in kinds:
            ms, status, total, body = table[kind][label]
            cells.append(f" {ms:13.1f}  {status} {total:>7} {body}")
        print(f"{label:28}" + "".join(cells))
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
