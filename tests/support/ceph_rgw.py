"""The one-host Ceph RADOS Gateway (scripts/ceph-rgw.sh) for the S3 driver's tests.

Started once per session when it is not already running (and stopped afterwards only then);
each session gets its own S3 user, with keys made for it and written 0600, and its own bucket.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "ceph-rgw.sh"
ENDPOINT = "http://127.0.0.1:7480"


@dataclass(frozen=True)
class S3Account:
    endpoint: str
    bucket: str
    access_key_file: Path
    secret_key_file: Path
    uid: str

    def env(self, **extra: str) -> dict[str, str]:
        """HT_ settings for a harbor-twisted process storing blobs in this account's bucket."""
        values = {
            "HT_STORAGE_DRIVER": "s3",
            "HT_S3_ENDPOINT": self.endpoint,
            "HT_S3_BUCKET": self.bucket,
            "HT_S3_ACCESS_KEY_FILE": str(self.access_key_file),
            "HT_S3_SECRET_KEY_FILE": str(self.secret_key_file),
            "HT_S3_PART_SIZE_MB": "5",
        }
        values.update({f"HT_{key.upper()}": value for key, value in extra.items()})
        return values

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=self.access_key_file.read_text(),
            aws_secret_access_key=self.secret_key_file.read_text(),
            config=Config(s3={"addressing_style": "path"},
                          request_checksum_calculation="when_required",
                          response_checksum_validation="when_required"),
        )


def _script(action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), action], cwd=ROOT, text=True,
                          capture_output=True, check=False, timeout=600)


def start_gateway() -> bool:
    """Start the gateway unless it answers; True when this call started it."""
    if _script("status").returncode == 0:
        return False
    started = _script("start")
    if started.returncode != 0:
        raise RuntimeError("scripts/ceph-rgw.sh start failed:\n" + started.stdout + started.stderr)
    return True


def stop_gateway() -> None:
    _script("stop")


def _conf() -> Path:
    directory = Path(os.environ.get("CEPH_RGW_DIR", ROOT / "build" / "ceph-rgw"))
    return (directory if directory.is_absolute() else ROOT / directory) / "ceph.conf"


def _write_secret(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def create_account(secrets_dir: Path) -> S3Account:
    """A new S3 user with fresh keys (0600 files in ``secrets_dir``) and a bucket name."""
    secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    uid = "test-" + secrets.token_hex(4)
    access, secret = secrets.token_hex(10).upper(), secrets.token_urlsafe(30)
    subprocess.run(
        ["radosgw-admin", "-c", str(_conf()), "user", "create", f"--uid={uid}",
         "--display-name=harbor-twisted tests", f"--access-key={access}",
         f"--secret-key={secret}"],
        check=True, capture_output=True, text=True, timeout=120,
    )
    _write_secret(secrets_dir / "s3_access_key", access)
    _write_secret(secrets_dir / "s3_secret_key", secret)
    return S3Account(ENDPOINT, f"ht-{uid}", secrets_dir / "s3_access_key",
                     secrets_dir / "s3_secret_key", uid)


def remove_account(account: S3Account) -> None:
    """The user, its buckets and their objects."""
    subprocess.run(
        ["radosgw-admin", "-c", str(_conf()), "user", "rm", f"--uid={account.uid}",
         "--purge-data"],
        check=False, capture_output=True, text=True, timeout=300,
    )
