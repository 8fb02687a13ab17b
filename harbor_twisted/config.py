"""One typed configuration, loaded from YAML, overridden by ``HT_<KEY>`` variables.

Every problem is reported as a :class:`ConfigError` whose message names the key, so a
bad file fails at start instead of at the first request that needs the setting.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ENV_PREFIX = "HT_"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("text", "json")
BLOB_SERVING_MODES = ("direct", "x-accel-redirect", "redirect")
STORAGE_DRIVERS = ("filesystem", "s3")
AUTH_MODES = ("db_auth", "ldap_auth")
REGISTRY_AUTH_MODES = ("token", "none")
CREATION_RESTRICTIONS = ("everyone", "adminonly")


class ConfigError(ValueError):
    """The configuration is unusable; the message names the offending key."""


@dataclass(frozen=True)
class Config:
    listen_address: str = "127.0.0.1"
    port: int = 8080
    data: Path = Path(".data")
    database_url: str = ""
    external_url: str = ""
    trusted_proxies: tuple[str, ...] = ()
    log_level: str = "info"
    log_format: str = "text"
    upload_expiry_seconds: int = 24 * 3600
    upload_sweep_interval_seconds: int = 600
    # a connection that sends nothing for this long is closed (idle keep-alive, stalled upload)
    idle_timeout_seconds: int = 60
    manifest_max_bytes: int = 4 * 1024 * 1024
    blob_serving: str = "direct"
    x_accel_prefix: str = "/_blobstore"
    # where blobs live: the data directory, or an S3 bucket (see docs/storage-s3.md);
    # blob_serving: redirect sends pulls to a pre-signed URL of the bucket
    storage_driver: str = "filesystem"
    s3_endpoint: str = ""  # empty: AWS's own endpoint for the region
    s3_region: str = "us-east-1"
    s3_bucket: str = ""
    s3_prefix: str = ""  # keys below this, so several registries may share a bucket
    s3_path_style: bool = True
    s3_verify_tls: bool = True
    s3_ca_file: Path | None = None
    s3_part_size_mb: int = 16  # multipart part size and the bound of an upload's local spool
    s3_access_key_file: Path | None = None  # 0600 files, in the secrets directory
    s3_secret_key_file: Path | None = None
    db_threads: int = 4
    auto_migrate: bool = True
    secrets_dir: Path | None = None
    registry_auth: str = "token"
    auth_mode: str | None = None  # applied at start when given; the default is db_auth
    token_realm: str = ""
    # where the registry API answers when this process does not serve it (core: health
    # check; jobservice: replication jobs); empty: this process's address and port
    registry_url: str = ""
    token_issuer: str = "harbor-token-issuer"
    token_service: str = "harbor-registry"
    token_expiration: int | None = None  # minutes; applied at start when given (default 30)
    token_signing_key: Path | None = None
    token_signing_cert: Path | None = None
    admin_password_file: Path | None = None
    allow_default_admin_password: bool = False
    self_registration: bool | None = None
    project_creation_restriction: str | None = None
    read_only: bool | None = None
    # LDAP / AD: applied to the runtime settings at each start when given (None = leave)
    ldap_url: str | None = None
    ldap_search_dn: str | None = None
    ldap_search_password_file: Path | None = None
    ldap_base_dn: str | None = None
    ldap_filter: str | None = None
    ldap_uid: str | None = None
    ldap_scope: int | None = None
    ldap_timeout: int | None = None
    ldap_verify_cert: bool | None = None
    ldap_ca_file: str | None = None
    ldap_starttls: bool | None = None
    ldap_group_base_dn: str | None = None
    ldap_group_search_filter: str | None = None
    ldap_group_attribute_name: str | None = None
    ldap_group_search_scope: int | None = None
    ldap_group_admin_dn: str | None = None
    ldap_group_membership_attribute: str | None = None
    ldap_group_member_attribute: str | None = None
    ldap_nested_groups: bool | None = None
    # accepted for the deployment role; the job service (a later issue) will use it
    max_job_workers: int = 10
    job_lease_seconds: int = 30  # a job whose worker stops heartbeating is retaken after this
    job_poll_seconds: int = 1
    job_scheduler_seconds: int = 5
    job_retry_limit: int = 3  # retries after the first attempt
    job_retry_backoff_seconds: int = 10  # doubled at each retry, at most an hour
    gc_grace_minutes: int = 120  # blobs and manifests younger than this are never swept
    # portal sessions (/c/login): idle timeout (sliding) and absolute lifetime
    session_idle_seconds: int = 30 * 60
    session_max_seconds: int = 8 * 3600
    # how often each process re-reads the system settings other processes may have changed
    settings_refresh_seconds: int = 10
    # the CA that signed this registry's TLS certificate (PEM), offered for download at
    # GET /api/v2.0/systeminfo/getcert; unset or missing: there is none to offer
    ca_certificate_file: Path | None = None
    # CA certificates (PEM) trusted for outgoing TLS — replication endpoints, webhook targets —
    # in addition to the system's; read at each job, so adding a CA needs no restart
    trusted_ca_file: Path | None = None
    # internal TLS: the process listens with TLS (certificate chain and key, PEM; the key in
    # the secrets directory), so the proxy and the other processes reach it encrypted
    internal_tls_certificate_file: Path | None = None
    internal_tls_key_file: Path | None = None
    # registry and all-in-one: worker processes sharing the listening socket (workers.py);
    # "auto" in the file means one per core
    workers: int = 1
    # Prometheus metrics on a port of their own (Harbor's ``metric:`` in harbor.yml): off by
    # default as in Harbor; bound at metrics_listen_address (empty: listen_address)
    metrics_enabled: bool = False
    metrics_port: int = 9090
    metrics_path: str = "/metrics"
    metrics_listen_address: str = ""
    _networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        default=(), repr=False, compare=False
    )

    @property
    def effective_database_url(self) -> str:
        """SQLite in the data directory unless a URL is configured."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data / 'registry.db').resolve()}"

    @property
    def effective_metrics_address(self) -> str:
        return self.metrics_listen_address or self.listen_address

    @property
    def effective_secrets_dir(self) -> Path:
        return self.secrets_dir if self.secrets_dir is not None else self.data / "secrets"

    def is_trusted_proxy(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self._networks)


def _as_int(key: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{key}: expected an integer, got a boolean")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}: expected an integer, got {value!r}") from None
    if number < minimum or (maximum is not None and number > maximum):
        upper = "" if maximum is None else f" and at most {maximum}"
        raise ConfigError(f"{key}: must be at least {minimum}{upper}, got {number}")
    return number


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{key}: expected true or false, got {value!r}")


def _as_choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in choices:
        raise ConfigError(f"{key}: must be one of {', '.join(choices)}, got {value!r}")
    return text


def _as_url(key: str, value: Any, schemes: tuple[str, ...]) -> str:
    text = str(value).strip()
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in schemes or (not parts.netloc and parts.scheme in ("http", "https")):
        raise ConfigError(f"{key}: expected a URL starting with {' or '.join(schemes)}")
    return text.rstrip("/")


def _as_proxies(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",") if item.strip()]
    elif isinstance(value, list | tuple):
        items = [str(item).strip() for item in value]
    else:
        raise ConfigError(f"{key}: expected a list of addresses or networks")
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(f"{key}: {item!r} is not an IP address or network") from None
    return tuple(items)


def _database_url(key: str, value: Any) -> str:
    text = str(value).strip()
    if text and not text.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        raise ConfigError(f"{key}: only sqlite:/// and postgresql:// URLs are supported")
    if text.startswith("postgresql://"):
        text = "postgresql+psycopg://" + text.removeprefix("postgresql://")
    return text


def _workers(key: str, value: Any) -> int:
    if str(value).strip().lower() == "auto":
        return os.cpu_count() or 1
    return _as_int(key, value, 1, 256)


def _non_empty(key: str, value: Any) -> str:
    text = str(value).strip()
    if not text or any(c in text for c in '",\\'):
        raise ConfigError(f"{key}: must be a non-empty string without quotes or commas")
    return text


def _metrics_path(key: str, value: Any) -> str:
    text = str(value).strip()
    if not text.startswith("/") or any(c in text for c in "?# "):
        raise ConfigError(f"{key}: must be an absolute URL path such as /metrics")
    return text


def _prefix(key: str, value: Any) -> str:
    text = str(value).strip()
    if not text.startswith("/") or text == "/":
        raise ConfigError(f"{key}: must be an absolute URL path such as /_blobstore")
    return text.rstrip("/")


def _optional_path(key: str, value: Any) -> Path | None:
    """A path, or none when given empty (``HT_TRUSTED_CA_FILE=`` unsets a file's value)."""
    return Path(str(value)).expanduser() if str(value).strip() else None


_CONVERTERS: dict[str, Any] = {
    "listen_address": lambda k, v: str(v).strip(),
    "port": lambda k, v: _as_int(k, v, 0, 65535),
    "data": lambda k, v: Path(str(v)).expanduser(),
    "database_url": _database_url,
    "external_url": lambda k, v: _as_url(k, v, ("http", "https")),
    "trusted_proxies": _as_proxies,
    "log_level": lambda k, v: _as_choice(k, v, LOG_LEVELS),
    "log_format": lambda k, v: _as_choice(k, v, LOG_FORMATS),
    "upload_expiry_seconds": lambda k, v: _as_int(k, v, 1),
    "upload_sweep_interval_seconds": lambda k, v: _as_int(k, v, 1),
    "idle_timeout_seconds": lambda k, v: _as_int(k, v, 1, 24 * 3600),
    "manifest_max_bytes": lambda k, v: _as_int(k, v, 1024, 64 * 1024 * 1024),
    "blob_serving": lambda k, v: _as_choice(k, v, BLOB_SERVING_MODES),
    "x_accel_prefix": _prefix,
    "storage_driver": lambda k, v: _as_choice(k, v, STORAGE_DRIVERS),
    "s3_endpoint": lambda k, v: _as_url(k, v, ("http", "https")),
    "s3_region": lambda k, v: _non_empty(k, v),
    "s3_bucket": lambda k, v: _non_empty(k, v),
    "s3_prefix": lambda k, v: str(v).strip("/"),
    "s3_path_style": _as_bool,
    "s3_verify_tls": _as_bool,
    "s3_ca_file": lambda k, v: Path(str(v)).expanduser(),
    "s3_part_size_mb": lambda k, v: _as_int(k, v, 5, 5 * 1024),
    "s3_access_key_file": lambda k, v: Path(str(v)).expanduser(),
    "s3_secret_key_file": lambda k, v: Path(str(v)).expanduser(),
    "db_threads": lambda k, v: _as_int(k, v, 1, 256),
    "auto_migrate": _as_bool,
    "secrets_dir": lambda k, v: Path(str(v)).expanduser(),
    "registry_auth": lambda k, v: _as_choice(k, v, REGISTRY_AUTH_MODES),
    "auth_mode": lambda k, v: _as_choice(k, v, AUTH_MODES),
    "token_realm": lambda k, v: _as_url(k, v, ("http", "https")),
    "registry_url": lambda k, v: _as_url(k, v, ("http", "https")),
    "token_issuer": lambda k, v: _non_empty(k, v),
    "token_service": lambda k, v: _non_empty(k, v),
    "token_expiration": lambda k, v: _as_int(k, v, 1, 60 * 24 * 365),
    "token_signing_key": lambda k, v: Path(str(v)).expanduser(),
    "token_signing_cert": lambda k, v: Path(str(v)).expanduser(),
    "admin_password_file": lambda k, v: Path(str(v)).expanduser(),
    "allow_default_admin_password": _as_bool,
    "self_registration": _as_bool,
    "project_creation_restriction": lambda k, v: _as_choice(k, v, CREATION_RESTRICTIONS),
    "read_only": _as_bool,
    "ldap_url": lambda k, v: _as_url(k, v, ("ldap", "ldaps")),
    "ldap_search_dn": lambda k, v: str(v),
    "ldap_search_password_file": lambda k, v: Path(str(v)).expanduser(),
    "ldap_base_dn": lambda k, v: str(v),
    "ldap_filter": lambda k, v: str(v),
    "ldap_uid": lambda k, v: _non_empty(k, v),
    "ldap_scope": lambda k, v: _as_int(k, v, 0, 2),
    "ldap_timeout": lambda k, v: _as_int(k, v, 1, 300),
    "ldap_verify_cert": _as_bool,
    "ldap_ca_file": lambda k, v: str(v),
    "ldap_starttls": _as_bool,
    "ldap_group_base_dn": lambda k, v: str(v),
    "ldap_group_search_filter": lambda k, v: str(v),
    "ldap_group_attribute_name": lambda k, v: _non_empty(k, v),
    "ldap_group_search_scope": lambda k, v: _as_int(k, v, 0, 2),
    "ldap_group_admin_dn": lambda k, v: str(v),
    "ldap_group_membership_attribute": lambda k, v: str(v),
    "ldap_group_member_attribute": lambda k, v: str(v),
    "ldap_nested_groups": _as_bool,
    "max_job_workers": lambda k, v: _as_int(k, v, 1, 100),
    "job_lease_seconds": lambda k, v: _as_int(k, v, 2, 3600),
    "job_poll_seconds": lambda k, v: _as_int(k, v, 1, 300),
    "job_scheduler_seconds": lambda k, v: _as_int(k, v, 1, 300),
    "job_retry_limit": lambda k, v: _as_int(k, v, 0, 100),
    "job_retry_backoff_seconds": lambda k, v: _as_int(k, v, 0, 3600),
    "gc_grace_minutes": lambda k, v: _as_int(k, v, 0, 7 * 24 * 60),
    "session_idle_seconds": lambda k, v: _as_int(k, v, 1, 7 * 24 * 3600),
    "session_max_seconds": lambda k, v: _as_int(k, v, 1, 30 * 24 * 3600),
    "settings_refresh_seconds": lambda k, v: _as_int(k, v, 1, 3600),
    "ca_certificate_file": lambda k, v: Path(str(v)).expanduser(),
    "trusted_ca_file": _optional_path,
    "internal_tls_certificate_file": _optional_path,
    "internal_tls_key_file": _optional_path,
    "workers": _workers,
    "metrics_enabled": _as_bool,
    "metrics_port": lambda k, v: _as_int(k, v, 0, 65535),
    "metrics_path": _metrics_path,
    "metrics_listen_address": lambda k, v: str(v).strip(),
}

KNOWN_KEYS = tuple(f.name for f in fields(Config) if not f.name.startswith("_"))


def build_config(values: Mapping[str, Any]) -> Config:
    unknown = sorted(set(values) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown setting (known: {', '.join(KNOWN_KEYS)})")
    converted = {key: _CONVERTERS[key](key, value) for key, value in values.items()}
    networks = tuple(
        ipaddress.ip_network(item, strict=False) for item in converted.get("trusted_proxies", ())
    )
    config = Config(**converted, _networks=networks)
    _check_storage(config)
    if (config.internal_tls_certificate_file is None) != (config.internal_tls_key_file is None):
        raise ConfigError("internal_tls_certificate_file and internal_tls_key_file go together")
    if (config.metrics_enabled and config.metrics_port and config.metrics_port == config.port
            and config.effective_metrics_address == config.listen_address):
        raise ConfigError("metrics_port: must differ from port (metrics have a port of their own)")
    return config


def _check_storage(config: Config) -> None:
    """The S3 settings the driver cannot start without, named at load time."""
    if config.storage_driver != "s3":
        if config.blob_serving == "redirect":
            raise ConfigError("blob_serving: redirect needs storage_driver: s3")
        return
    if config.blob_serving == "x-accel-redirect":
        raise ConfigError("blob_serving: x-accel-redirect serves files; with s3 use redirect")
    for key in ("s3_bucket", "s3_access_key_file", "s3_secret_key_file"):
        if not getattr(config, key):
            raise ConfigError(f"{key}: required with storage_driver: s3")


def environment_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """``HT_PORT=9000`` overrides ``port``; unknown HT_ variables are ignored."""
    overrides = {}
    for key in KNOWN_KEYS:
        name = ENV_PREFIX + key.upper()
        if name in environ:
            overrides[key] = environ[name]
    return overrides


def load_config(path: str | Path | None, environ: Mapping[str, str] | None = None) -> Config:
    values: dict[str, Any] = {}
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"config file {path}: {exc.strerror}") from None
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path}: not valid YAML ({exc})") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {path}: expected a mapping of settings")
        values.update(loaded)
    values.update(environment_overrides(os.environ if environ is None else environ))
    return build_config(values)
