"""Registry endpoint secrets: 0600 files in the secrets directory, one per endpoint.

The database holds only the access key and whether a secret exists; the API never returns
the secret and nothing logs it.
"""

from __future__ import annotations

from harbor_twisted.common.settings_schema import read_secret, secret_path, write_secret
from harbor_twisted.config import Config


def _name(registry_id: int) -> str:
    return f"registry-{registry_id}-access-secret"


def store_secret(config: Config, registry_id: int, secret: str) -> None:
    write_secret(config, _name(registry_id), secret)


def load_secret(config: Config, registry_id: int) -> str:
    return read_secret(config, _name(registry_id))


def forget_secret(config: Config, registry_id: int) -> None:
    secret_path(config, _name(registry_id)).unlink(missing_ok=True)
