"""Start a real harbor-twisted process for tests and find the port it bound."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"registry listening on (?P<host>[\d.]+):(?P<port>\d+)")


@dataclass
class RegistryServer:
    data_dir: Path
    database_url: str
    process: subprocess.Popen[str]
    host: str
    log_lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return "".join(self.log_lines)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.process.returncode


def _pump(stream, lines: list[str], found: threading.Event, holder: dict) -> None:
    for line in stream:
        lines.append(line)
        match = _LISTENING.search(line)
        if match and not found.is_set():
            holder["host"] = f"{match['host']}:{match['port']}"
            found.set()
    found.set()


def start_server(
    data_dir: Path,
    database_url: str = "",
    extra_env: dict[str, str] | None = None,
    config_file: Path | None = None,
    command: str = "all-in-one",
) -> RegistryServer:
    env = dict(os.environ)
    env.update({"HT_PORT": "0", "HT_DATA": str(data_dir), "HT_LOG_LEVEL": "info"})
    if database_url:
        env["HT_DATABASE_URL"] = database_url
    env.update(extra_env or {})
    args = [sys.executable, "-m", "harbor_twisted.cli", command]
    if config_file is not None:
        args += ["--config", str(config_file)]
    process = subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    found = threading.Event()
    holder: dict[str, str] = {}
    threading.Thread(target=_pump, args=(process.stdout, lines, found, holder), daemon=True).start()
    found.wait(timeout=30)
    if "host" not in holder:
        process.kill()
        raise RuntimeError("harbor-twisted did not start:\n" + "".join(lines))
    server = RegistryServer(data_dir, database_url, process, holder["host"], lines)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if requests.get(server.url + "/v2/", timeout=2).status_code == 200:
                return server
        except requests.ConnectionError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError("harbor-twisted did not answer /v2/:\n" + server.log_text())
