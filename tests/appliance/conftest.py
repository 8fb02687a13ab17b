"""The appliance's OVA, built by ``appliance/build.sh`` (reused while its inputs are unchanged)."""

from __future__ import annotations

import subprocess
import tarfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = ROOT / "build" / "appliance"


@pytest.fixture(scope="session")
def appliance_ova() -> Path:
    """The OVA; built here when missing or out of date (a few minutes), else reused at once."""
    started = time.monotonic()
    done = subprocess.run(["bash", str(ROOT / "appliance" / "build.sh")], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"appliance/build.sh failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}",
                    pytrace=False)
    print(f"\n[appliance] build.sh took {time.monotonic() - started:.0f} s: "
          f"{done.stdout.strip().splitlines()[-1]}")
    found = sorted(BUILD_DIR.glob("harbor-twisted-*.ova"))
    assert found, "build.sh made no OVA"
    return found[-1]


@pytest.fixture(scope="session")
def ova_members(appliance_ova: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The OVA's files, extracted once, by suffix (.ovf, .mf, .vmdk)."""
    target = tmp_path_factory.mktemp("ova")
    with tarfile.open(appliance_ova) as tar:
        tar.extractall(target, filter="data")
    return {path.suffix: path for path in target.iterdir()}
