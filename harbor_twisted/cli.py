"""The ``harbor-twisted`` command: run a process kind, migrate the database."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from twisted.application import service
from twisted.internet import defer, reactor
from twisted.logger import Logger

from harbor_twisted import __version__
from harbor_twisted.auth import keys
from harbor_twisted.auth.passwords import PasswordPolicyError
from harbor_twisted.common import local_urls
from harbor_twisted.common.malloc import return_large_allocations
from harbor_twisted.common.outbound_tls import TrustFileError, trust_context
from harbor_twisted.common.server_tls import ServerTLSError
from harbor_twisted.config import Config, ConfigError, load_config
from harbor_twisted.core import auth_mode_switch
from harbor_twisted.core.identity import reset_password
from harbor_twisted.db import migrate
from harbor_twisted.db.engine import Database, make_engine
from harbor_twisted.ldap.client import DirectoryError, DirectoryUnavailable
from harbor_twisted.ldap.settings import LdapConfigError
from harbor_twisted.logs import start_logging
from harbor_twisted.services import (
    all_in_one_service,
    core_service,
    jobservice_service,
    registry_service,
)
from harbor_twisted.workers import announce_ready, run_workers, worker_index

log = Logger(namespace="harbor_twisted.cli")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harbor-twisted", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("all-in-one", "every part in one process: core, registry and job service"),
        ("core", "token service, REST API and portal sessions (no /v2, no job workers)"),
        ("registry", "the OCI registry API alone (verifies the core's tokens)"),
        ("jobservice", "job workers, the cron scheduler and the event consumer (no port)"),
        ("migrate", "bring the database schema to the newest revision and exit"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--config", metavar="FILE", help="YAML configuration file")
    admin = commands.add_parser("admin", help="administrative tasks")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    reset = admin_commands.add_parser(
        "reset-password", help="set a database user's password (read from stdin or a file)"
    )
    reset.add_argument("--config", metavar="FILE", help="YAML configuration file")
    reset.add_argument("--username", default="admin")
    reset.add_argument("--password-file", metavar="FILE", help="read the password from FILE")
    switch = admin_commands.add_parser(
        "switch-auth-mode", help="change the authentication mode, moving the users along"
    )
    switch.add_argument("--config", metavar="FILE", help="YAML configuration file")
    switch.add_argument("mode", choices=("ldap_auth", "db_auth"))
    switch.add_argument("--dry-run", action="store_true", help="only print what would happen")
    switch.add_argument("--force", action="store_true",
                        help="ldap_auth → db_auth: do it although directory users lose logins")
    return parser


def _prepare(config: Config) -> None:
    config.data.mkdir(parents=True, exist_ok=True)


def _run(config: Config, build: Callable[[Config], service.MultiService]) -> int:
    start_logging(config.log_level, config.log_format)
    return_large_allocations()  # password checks' 19 MiB would stay resident per thread
    try:
        if config.trusted_ca_file is not None:
            trust_context(config.trusted_ca_file)  # read again at each use; usable at start
        top = build(config)
    except (ServerTLSError, TrustFileError) as exc:
        print(f"harbor-twisted: cannot start: {exc}", file=sys.stderr)
        return 1
    for child in top:
        if isinstance(child, service.Service) and hasattr(child, "_raiseSynchronously"):
            child._raiseSynchronously = True
    try:
        top.startService()
    except Exception as exc:
        print(f"harbor-twisted: cannot start: {exc}", file=sys.stderr)
        # Parts that did start (thread pools) must stop, or the process would not exit.
        reactor.callWhenRunning(_stop_and_exit, top)
        reactor.run()
        return 1
    for child in top:
        port = getattr(child, "_waitingForPort", None)
        if port is not None:
            port.addCallback(_announce, getattr(child, "process_kind", "registry"))
    announce_ready()
    reactor.addSystemEventTrigger("before", "shutdown", top.stopService)
    reactor.run()
    return 0


def _stop_and_exit(top: service.MultiService) -> None:
    d = defer.maybeDeferred(top.stopService)
    d.addErrback(lambda failure: log.failure("stopping after a failed start", failure))
    d.addBoth(lambda _: reactor.stop())


def _announce(port: object, kind: str) -> object:
    address = port.getHost()  # type: ignore[attr-defined]
    if kind == "registry":
        local_urls.bound_port = address.port  # the replication jobs reach this process's registry
    log.warn("{kind} listening on {host}:{port}", kind=kind, host=address.host,
             port=address.port)
    return port


def _migrate(config: Config) -> int:
    """The schema, and the token signing key when there is none yet: a registry process
    started after ``migrate`` (systemd orders it after the core's) finds its certificate."""
    engine = make_engine(config.effective_database_url, 1)
    try:
        revision = migrate.upgrade(engine)
    finally:
        engine.dispose()
    print(f"database schema at revision {revision}")
    if config.registry_auth == "token":
        keys.load_or_create(config.effective_secrets_dir, key_path=config.token_signing_key,
                            cert_path=config.token_signing_cert)
    return 0


def _reset_password(config: Config, username: str, password_file: str | None) -> int:
    if password_file:
        password = Path(password_file).read_text(encoding="utf-8").strip()
    else:
        password = sys.stdin.readline().rstrip("\n")
    engine = make_engine(config.effective_database_url, 1)
    try:
        migrate.upgrade(engine)
        reset_password(Database(engine, 1), username, password)
    except (PasswordPolicyError, LookupError) as exc:
        print(f"harbor-twisted: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"password of {username} changed; running services accept it within a minute")
    return 0


def _switch_auth_mode(config: Config, target: str, dry_run: bool, force: bool) -> int:
    engine = make_engine(config.effective_database_url, 1)
    try:
        migrate.upgrade(engine)
        found = auth_mode_switch.switch_blocking(Database(engine, 1), config, target,
                                                 dry_run=dry_run, force=force)
    except auth_mode_switch.SwitchRefused as exc:
        print(f"harbor-twisted: {exc}", file=sys.stderr)
        return 1
    except (DirectoryError, DirectoryUnavailable, LdapConfigError) as exc:
        print(f"harbor-twisted: cannot ask the directory: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(auth_mode_switch.describe(found, dry_run=dry_run, force=force))
    if dry_run and target == "db_auth" and found.changes_mode and not force:
        print(auth_mode_switch.reverse_refusal(found))
    return 1 if found.conflicts else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"harbor-twisted: bad configuration: {exc}", file=sys.stderr)
        return 2
    _prepare(config)
    if args.command == "migrate":
        return _migrate(config)
    if args.command == "admin":
        if args.admin_command == "switch-auth-mode":
            return _switch_auth_mode(config, args.mode, args.dry_run, args.force)
        return _reset_password(config, args.username, args.password_file)
    builds = {"all-in-one": all_in_one_service, "core": core_service,
              "jobservice": jobservice_service}
    build = builds.get(args.command, registry_service)
    several = config.workers > 1 and args.command in ("all-in-one", "registry")
    if several and worker_index() is None:
        own_command = list(argv) if argv is not None else sys.argv[1:]
        return run_workers(config, [sys.executable, "-m", "harbor_twisted.cli", *own_command],
                           start_logging)
    return _run(config, build)


if __name__ == "__main__":
    sys.exit(main())
