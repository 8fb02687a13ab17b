"""Webhook targets' auth headers: 0600 files in the secrets directory, one per target.

The database only says whether a target has one; the API never returns it, the audit log
never records it, the delivery log never prints it.
"""

from __future__ import annotations

from harbor_twisted.common.settings_schema import read_secret, secret_path, write_secret
from harbor_twisted.config import Config

MAX_TARGETS = 8


def _name(policy_id: int, index: int) -> str:
    return f"webhook-{policy_id}-target-{index}-auth-header"


def store(config: Config, policy_id: int, index: int, value: str) -> None:
    write_secret(config, _name(policy_id, index), value)


def load(config: Config, policy_id: int, index: int) -> str:
    return read_secret(config, _name(policy_id, index))


def forget(config: Config, policy_id: int, index: int) -> None:
    secret_path(config, _name(policy_id, index)).unlink(missing_ok=True)


def forget_all(config: Config, policy_id: int, keep: int = 0) -> None:
    """Remove the policy's headers from target ``keep`` on (all of them by default)."""
    for index in range(keep, MAX_TARGETS):
        forget(config, policy_id, index)
