"""A private OpenLDAP ``slapd`` for tests: its own slapd.conf, mdb database and free ports.

It listens on loopback for ldap:// (StartTLS offered) and ldaps://, with a certificate
from a throwaway CA, and loads the memberof overlay so ``memberOf`` is maintained when
groups are added online (``slapadd`` would bypass overlays, so seeding goes through LDAP).
The process runs in the foreground (``-d 0``) and is stopped by its pid.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import ldap
import ldap.modlist

from tests.support.tls_ca import ServerCertificate, make_server_certificate

SLAPD = "/usr/sbin/slapd"
MODULES = "/usr/lib/ldap"
SCHEMAS = "/etc/ldap/schema"
MANAGER_PASSWORD = "manager-" + secrets.token_hex(8)

_CONF = """\
include {schemas}/core.schema
include {schemas}/cosine.schema
include {schemas}/inetorgperson.schema
include {schemas}/nis.schema
modulepath {modules}
moduleload back_mdb
{memberof_module}
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
TLSCACertificateFile {tls.ca_file}
TLSCertificateFile {tls.cert_file}
TLSCertificateKeyFile {tls.key_file}

database mdb
maxsize 67108864
suffix "{suffix}"
rootdn "{manager}"
rootpw {manager_hash}
directory {dir}/db
index objectClass,uid,cn,member eq
{memberof_overlay}
access to attrs=userPassword
  by self =xw
  by anonymous auth
  by * none
access to *
  by users read
  by * none
"""

_MEMBEROF = """\
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE
"""


def ssha(password: str) -> str:
    """An OpenLDAP ``{SSHA}`` hash, as slappasswd makes it."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def slapd_problem() -> str | None:
    """Why a private slapd cannot run here, or None."""
    if not Path(SLAPD).exists():
        return f"{SLAPD} is missing: install slapd (scripts/setup-host.sh does)"
    return None


@dataclass
class Slapd:
    directory: Path
    suffix: str
    manager_dn: str
    port: int
    tls_port: int
    tls: ServerCertificate
    memberof: bool
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    def manager(self) -> ldap.ldapobject.LDAPObject:
        """A connection bound as the rootdn (for seeding and changes in tests)."""
        conn = ldap.initialize(self.url)
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, 5)
        conn.timeout = 10
        conn.simple_bind_s(self.manager_dn, MANAGER_PASSWORD)
        return conn

    def add(self, entries: list[tuple[str, dict[str, list[str]]]]) -> None:
        conn = self.manager()
        try:
            for dn, attributes in entries:
                encoded = {k: [v.encode() for v in values] for k, values in attributes.items()}
                conn.add_s(dn, ldap.modlist.addModlist(encoded))
        finally:
            conn.unbind_s()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _write_config(directory: Path, suffix: str, manager_dn: str, tls: ServerCertificate,
                  memberof: bool) -> Path:
    (directory / "db").mkdir(parents=True, exist_ok=True)
    conf = directory / "slapd.conf"
    conf.write_text(_CONF.format(
        schemas=SCHEMAS, modules=MODULES, dir=directory, tls=tls, suffix=suffix,
        manager=manager_dn, manager_hash=ssha(MANAGER_PASSWORD),
        memberof_module="moduleload memberof" if memberof else "",
        memberof_overlay=_MEMBEROF if memberof else "",
    ))
    return conf


def _wait_ready(server: Slapd, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"slapd exited with {server.process.returncode}")
        try:
            server.manager().unbind_s()
            return
        except ldap.LDAPError:
            time.sleep(0.05)
    raise RuntimeError("slapd did not answer within its start-up time")


def start_slapd(directory: Path, suffix: str = "dc=example,dc=org") -> Slapd:
    """Start a private slapd with an empty database under ``suffix`` (add entries next)."""
    problem = slapd_problem()
    if problem is not None:
        raise RuntimeError(problem)
    memberof = Path(MODULES, "memberof.la").exists() or Path(MODULES, "memberof.so").exists()
    tls = make_server_certificate(directory / "tls")
    manager_dn = f"cn=manager,{suffix}"
    conf = _write_config(directory, suffix, manager_dn, tls, memberof)
    for _attempt in range(3):  # a port may be taken between probing and binding
        port, tls_port = free_port(), free_port()
        listen = f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/"
        process = subprocess.Popen(
            [SLAPD, "-d", "0", "-h", listen, "-f", str(conf)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(directory / "slapd.log", "wb"),  # noqa: SIM115 - lives with slapd
        )
        server = Slapd(directory, suffix, manager_dn, port, tls_port, tls, memberof, process)
        try:
            _wait_ready(server, time.monotonic() + 15)
            return server
        except RuntimeError:
            server.stop()
    log = (directory / "slapd.log").read_text(errors="replace")[-2000:]
    shutil.rmtree(directory / "db", ignore_errors=True)
    raise RuntimeError(f"slapd did not start:\n{log}")
