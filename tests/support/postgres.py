"""A throwaway PostgreSQL cluster (Debian's binaries) in a temporary directory."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
RUN_AS = "postgres"  # initdb refuses to run as root


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_user(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", RUN_AS, "--", *args]


@dataclass
class PostgresCluster:
    directory: Path
    port: int

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{RUN_AS}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "ht") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        subprocess.run(
            _as_user([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), name]),
            check=True,
            capture_output=True,
            timeout=30,
        )
        return self.url(name)

    def stop_server(self) -> None:
        """Stop the server, keeping the cluster (``start_server`` brings it back)."""
        _pg_ctl(self.directory, "-m", "fast", "-w", "stop")

    def start_server(self) -> None:
        _pg_ctl(self.directory, "-o", _options(self.directory, self.port), "-l",
                str(self.directory / "log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        subprocess.run(
            _as_user(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.directory / "data"),
                    "-m",
                    "fast",
                    "-w",
                    "stop",
                ]
            ),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.directory, ignore_errors=True)


def _options(directory: Path, port: int) -> str:
    return f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"


def _pg_ctl(directory: Path, *args: str) -> None:
    subprocess.run(_as_user([str(PG_BIN / "pg_ctl"), "-D", str(directory / "data"), *args]),
                   check=True, capture_output=True, timeout=90)


def start_cluster() -> PostgresCluster:
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError("PostgreSQL binaries missing: run scripts/setup-host.sh")
    directory = Path(tempfile.mkdtemp(prefix="ht-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(RUN_AS)
        os.chown(directory, entry.pw_uid, entry.pw_gid)
    data = directory / "data"
    subprocess.run(
        _as_user(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                RUN_AS,
                "--no-sync",
                "-E",
                "UTF8",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = _free_port()
    _pg_ctl(directory, "-o", _options(directory, port), "-l", str(directory / "log"), "-w", "-t",
            "60", "start")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return PostgresCluster(directory, port)
        time.sleep(0.1)
    raise RuntimeError("PostgreSQL did not start: " + (directory / "log").read_text())
