"""Start, probe and stop the registries under test, each on a free loopback port."""

from __future__ import annotations

import ctypes
import http.client
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from . import client

REPO_ROOT = Path(__file__).resolve().parents[2]
HARBOR_BIN = REPO_ROOT / ".venv" / "bin" / "harbor-twisted"
DISTRIBUTION_BIN = Path("/usr/bin/docker-registry")
NGINX_BIN = Path("/usr/sbin/nginx")
HAPROXY_BIN = Path("/usr/sbin/haproxy")
KINDS = ("harbor", "distribution")
FRONTS = ("none", "nginx", "haproxy")
HOST = "127.0.0.1"
START_ATTEMPTS = 3
PR_SET_PDEATHSIG = 1


class ServerError(RuntimeError):
    """A registry did not start, or stopped answering."""


@dataclass(frozen=True)
class ServerSpec:
    label: str  # "ours" or "theirs": the column the figures go to
    kind: str  # one of KINDS
    binary: Path
    overrides: dict[str, object] = field(default_factory=dict)  # harbor config keys to set
    front: str = "none"  # "nginx": ours behind nginx, blobs served by X-Accel-Redirect
    hosts: int = 1  # front "haproxy": this many service processes ("hosts") behind it

    @property
    def title(self) -> str:
        behind = ""
        if self.front == "nginx":
            behind = " behind nginx"
        elif self.front == "haproxy":
            behind = f" behind haproxy, {self.hosts} host{'s' if self.hosts > 1 else ''}"
        return f"{self.label} ({self.kind}{behind})"


@dataclass
class RunningServer:
    spec: ServerSpec
    port: int
    workdir: Path
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _distribution_config(data: Path, port: int) -> dict[str, object]:
    # The shape of Debian's /etc/docker/registry/config.yml, without auth and health checks.
    return {
        "version": "0.1",
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {
            "cache": {"blobdescriptor": "inmemory"},
            "filesystem": {"rootdirectory": str(data)},
            "delete": {"enabled": True},
        },
        "http": {"addr": f"{HOST}:{port}"},
    }


def _harbor_config(workdir: Path, data: Path, port: int) -> dict[str, object]:
    # Anonymous registry access, as Distribution runs here; the admin password is only
    # required because the first start creates the admin user.
    password = workdir / "admin-password"
    password.touch(mode=0o600)
    password.write_text(secrets.token_urlsafe(24))
    return {
        "listen_address": HOST,
        "port": port,
        "data": str(data),
        "log_level": "warning",
        "registry_auth": "none",
        "admin_password_file": str(password),
    }


def _command(spec: ServerSpec, workdir: Path, port: int) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that start `spec` with its data under `workdir`."""
    data = workdir / "data"
    data.mkdir()
    config = workdir / "config.yml"
    # Both read overrides from the environment: drop the caller's, the file decides.
    prefix = "REGISTRY_" if spec.kind == "distribution" else "HT_"
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefix)}
    if spec.kind == "distribution":
        # JSON is YAML: no quoting questions for paths.
        config.write_text(json.dumps(_distribution_config(data, port), indent=2))
        return [str(spec.binary), "serve", str(config)], env
    if spec.front == "nginx":
        inner = free_port()
        document = {**_harbor_config(workdir, data, inner), **spec.overrides,
                    "blob_serving": "x-accel-redirect", "x_accel_prefix": "/_blobstore"}
        config.write_text(json.dumps(document, indent=2))
        env.update({"HT_PORT": str(inner), "HT_DATA": str(data)})
        nginx_conf = workdir / "nginx.conf"
        nginx_conf.write_text(_nginx_config(workdir, data, port, inner))
        # one process group: the service (killed with nginx even if we die by SIGKILL),
        # then nginx in the shell's place
        script = ('setpriv --pdeathsig KILL "$0" all-in-one --config "$1" & '
                  'exec "$2" -p "$3" -c "$4"')
        argv = ["/bin/sh", "-c", script, str(spec.binary), str(config), str(NGINX_BIN),
                str(workdir), str(nginx_conf)]
        return argv, env
    if spec.front == "haproxy":
        return _behind_haproxy(spec, workdir, data, port, env)
    document = {**_harbor_config(workdir, data, port), **spec.overrides}
    config.write_text(json.dumps(document, indent=2))
    env.update({"HT_PORT": str(port), "HT_DATA": str(data)})
    return [str(spec.binary), "all-in-one", "--config", str(config)], env


def _behind_haproxy(
    spec: ServerSpec, workdir: Path, data: Path, port: int, env: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """``spec.hosts`` service processes on one loopback, each its own port as if on its own
    host, sharing the data directory and the database (as hosts share S3 and PostgreSQL),
    behind HAProxy balanced as roles/load_balancer deploys it. The first host starts alone
    (it creates the database); the others once it answers."""
    inner = [free_port() for _ in range(spec.hosts)]
    config = workdir / "config.yml"
    config.write_text(json.dumps({**_harbor_config(workdir, data, inner[0]), **spec.overrides},
                                 indent=2))
    env.update({"HT_DATA": str(data)})
    haproxy_conf = workdir / "haproxy.cfg"
    haproxy_conf.write_text(_haproxy_config(port, inner))
    script = (
        'bin=$1 config=$2 haproxy=$3 haproxy_conf=$4; shift 4; first=$1\n'
        'for inner in "$@"; do\n'
        '  HT_PORT=$inner setpriv --pdeathsig KILL "$bin" all-in-one --config "$config" &\n'
        '  if [ "$inner" = "$first" ]; then\n'
        '    until curl -sf -o /dev/null "http://127.0.0.1:$first/v2/"; do sleep 0.2; done\n'
        '  fi\n'
        'done\n'
        'for inner in "$@"; do\n'
        '  until curl -sf -o /dev/null "http://127.0.0.1:$inner/v2/"; do sleep 0.2; done\n'
        'done\n'
        'exec "$haproxy" -db -f "$haproxy_conf"\n'
    )
    argv = ["/bin/sh", "-c", script, "sh", str(spec.binary), str(config), str(HAPROXY_BIN),
            str(haproxy_conf), *map(str, inner)]
    return argv, env


def _haproxy_config(port: int, inner: list[int]) -> str:
    """roles/load_balancer/templates/haproxy.cfg.j2's balancing, without TLS and logs:
    bodies streamed, leastconn, each upload's requests to the host that started it."""
    servers = "\n".join(
        f"    server host{index} {HOST}:{inner_port}" for index, inner_port in enumerate(inner, 1)
    )
    learn_upload = ("stick store-response res.hdr(location),regsub(^.*/blobs/uploads/,),"
                    "field(1,?) if { status 202 } { res.hdr(location) -m sub /blobs/uploads/ }")
    return f"""global
    maxconn 4096
defaults
    mode http
    no option http-buffer-request
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-request 60s
    timeout http-keep-alive 60s
frontend registry
    bind {HOST}:{port}
    default_backend hosts
backend hosts
    balance leastconn
    stick-table type string len 64 size 100k expire 60m
    acl upload_request path_reg ^/v2/.+/blobs/uploads/[^/]+$
    stick on path,regsub(^.*/blobs/uploads/,) if upload_request
    {learn_upload}
    option redispatch
    retries 3
    option httpchk
    http-check send meth GET uri /api/v2.0/health ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server check inter 2s fall 3 rise 2
{servers}
"""


def _nginx_config(workdir: Path, data: Path, port: int, inner: int) -> str:
    """nginx as the role deploys it in front of the service (roles/harbor_registry/
    templates/nginx.conf.j2: bodies streamed both ways, X-Accel location over blobs/),
    without TLS and logs; it runs as us so it can read the temporary data directory."""
    temp = workdir / "nginx-temp"
    temp.mkdir()
    return f"""daemon off;
user {_user_name()};
worker_processes auto;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    upstream harbor_twisted {{
        server {HOST}:{inner};
        keepalive 32;
    }}
    server {{
        listen {HOST}:{port};
        client_max_body_size 0;
        chunked_transfer_encoding on;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_request_buffering off;
        proxy_buffering off;
        location / {{
            proxy_pass http://harbor_twisted;
        }}
        location /_blobstore/ {{
            internal;
            alias {data}/blobs/;
        }}
    }}
}}
"""


def _user_name() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def probe(port: int, timeout: float = 2.0) -> int:
    """Status of `GET /v2/`, or 0 when nothing answers."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", "/v2/")
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        conn.close()


def _wait_ready(server: RunningServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerError(
                f"{server.spec.title} exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        status = probe(server.port, timeout=1.0)
        if status == 200:
            return
        if status == 401:
            if server.spec.overrides.get("registry_auth") == "token":
                return  # the Bearer challenge: token auth is what we asked for
            raise ServerError(f"{server.spec.title} wants authentication on /v2/")
        time.sleep(0.1)
    raise ServerError(f"{server.spec.title} not ready after {timeout:.0f} s:\n{server.log_tail()}")


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the harness dies, even by SIGKILL."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _launch(spec: ServerSpec, parent: Path) -> RunningServer:
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix=f"{spec.label}-{spec.kind}-", dir=parent))
    argv, env = _command(spec, workdir, port)
    with (workdir / "server.log").open("wb") as log:
        # A session of its own: Ctrl-C reaches us, and we stop the server in order.
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # only the main thread runs while servers start
        )
    if spec.kind != "distribution" and spec.overrides.get("registry_auth") == "token":
        password = (workdir / "admin-password").read_text()
        client.CREDENTIALS[port] = ("admin", password)
    return RunningServer(spec=spec, port=port, workdir=workdir, process=process)


def start(spec: ServerSpec, parent: Path, timeout: float = 60.0) -> RunningServer:
    """Start `spec` on a fresh data directory; retry when the chosen port was taken."""
    for attempt in range(1, START_ATTEMPTS + 1):
        server = _launch(spec, parent)
        try:
            _wait_ready(server, timeout)
            return server
        except ServerError as error:
            port_taken = "address already in use" in str(error).lower()
            stop(server)
            if not port_taken or attempt == START_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def stop(server: RunningServer, grace: float = 10.0) -> None:
    """Stop the server's process group (TERM, then KILL) and delete its data."""
    process = server.process
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(timeout=grace)
    else:
        _signal_group(process, signal.SIGKILL)  # children it may have left behind
    shutil.rmtree(server.workdir, ignore_errors=True)


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait while we clean up, so a second one cannot orphan a server."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def running(specs: list[ServerSpec], parent: Path) -> Iterator[list[RunningServer]]:
    """All `specs` started fresh; every one stopped on the way out, whatever happened."""
    servers: list[RunningServer] = []
    try:
        for spec in specs:
            servers.append(start(spec, parent))
        yield servers
    finally:
        with interrupts_held():
            for server in servers:
                stop(server)


def version_of(spec: ServerSpec) -> str:
    """One line naming the server's version, best effort."""
    argv = [str(spec.binary), "--version"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except OSError as error:
        return f"unknown ({error})"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"
