"""Start a real harbor-twisted process for tests and find the port it bound."""

from __future__ import annotations

import functools
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from harbor_twisted.auth import keys
from tests.support.auth import TokenAuth

ROOT = Path(__file__).resolve().parents[2]
_ADMIN_PASSWORDS: dict[str, str] = {}  # data directory -> the admin password it was given
_LISTENING = re.compile(r"(?:registry|core) listening on (?P<host>[\d.]+):(?P<port>\d+)")


@dataclass
class RegistryServer:
    data_dir: Path
    database_url: str
    process: subprocess.Popen[str]
    host: str
    admin_password: str
    log_lines: list[str] = field(default_factory=list)
    auth: TokenAuth | None = None
    session: requests.Session = field(default_factory=requests.Session)
    scheme: str = "http"  # https: it listens with internal TLS

    def __post_init__(self) -> None:
        self.auth = TokenAuth(self.url, "admin", self.admin_password)
        self.session.auth = self.auth

    def signing_key(self) -> keys.SigningKey:
        """The token signing key the server uses (tests forge and sign with it)."""
        key_file, cert_file = _shared_signing_key()
        return keys.load_or_create(key_file.parent, key_path=key_file, cert_path=cert_file)

    def auth_header(self, path: str) -> dict[str, str]:
        """Authorization for a raw request to ``path``, as the admin."""
        return self.auth.header_for(path)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

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


@functools.cache
def _shared_signing_key() -> tuple[Path, Path]:
    """One token signing key for every test server: RSA key generation takes seconds."""
    directory = Path(tempfile.mkdtemp(prefix="ht-test-keys-"))
    key = keys.load_or_create(directory)
    assert key.kid
    return directory / keys.KEY_FILE, directory / keys.CERT_FILE


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
    admin_password: str | None = None,
    tls_ca: Path | None = None,
) -> RegistryServer:
    """``tls_ca``: the process listens with TLS (its settings in ``extra_env``), verified
    against this CA."""
    env = dict(os.environ)
    admin_password = admin_password or _ADMIN_PASSWORDS.setdefault(
        str(data_dir), "Test-" + secrets.token_hex(8)
    )
    key_file, cert_file = _shared_signing_key()
    env.update({"HT_PORT": "0", "HT_DATA": str(data_dir), "HT_LOG_LEVEL": "info",
                "HT_ADMIN_PASSWORD": admin_password, "HT_TOKEN_SIGNING_KEY": str(key_file),
                "HT_TOKEN_SIGNING_CERT": str(cert_file)})
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
    found.wait(timeout=90)  # a loaded 2-core machine can take tens of seconds to import
    if "host" not in holder:
        process.kill()
        raise RuntimeError("harbor-twisted did not start:\n" + "".join(lines))
    server = RegistryServer(data_dir, database_url, process, holder["host"], admin_password, lines,
                            scheme="https" if tls_ca else "http")
    _SERVERS[server.host] = server
    # the core has no /v2/: it is ready when its API answers
    probe, ready = ("/api/v2.0/ping", (200,)) if command == "core" else ("/v2/", (200, 401))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            answer = requests.get(server.url + probe, timeout=2,
                                  verify=str(tls_ca) if tls_ca else True)
            if answer.status_code in ready:
                return server
        except requests.ConnectionError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"harbor-twisted did not answer {probe}:\n" + server.log_text())


_SERVERS: dict[str, RegistryServer] = {}


def server_for(url_or_host: str) -> RegistryServer | None:
    host = url_or_host.split("://", 1)[-1].split("/", 1)[0]
    return _SERVERS.get(host)


class AdminHTTP:
    """requests-like calls that authenticate as the admin of whichever test server is named.

    Tests about the registry protocol use it so they need not repeat the token dance; tests
    about authentication use plain requests or their own credentials.
    """

    def request(self, method: str, url: str, **kwargs: object) -> requests.Response:
        server = server_for(url)
        if server is None:
            return requests.request(method, url, **kwargs)
        return server.session.request(method, url, **kwargs)

    def get(self, url: str, **kwargs: object) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: object) -> requests.Response:
        return self.request("HEAD", url, **kwargs)

    def post(self, url: str, **kwargs: object) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: object) -> requests.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: object) -> requests.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: object) -> requests.Response:
        return self.request("DELETE", url, **kwargs)


admin_http = AdminHTTP()
