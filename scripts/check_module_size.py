"""Fail when a module of the package (migrations aside) grows past MAX_LINES lines:
a module that long holds more than one job and should be split."""

from __future__ import annotations

import sys
from pathlib import Path

MAX_LINES = 500
ROOT = Path(__file__).resolve().parents[1] / "harbor_twisted"


def oversized() -> list[tuple[Path, int]]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations" in path.relative_to(ROOT).parts:
            continue
        count = len(path.read_text(encoding="utf-8").splitlines())
        if count > MAX_LINES:
            found.append((path.relative_to(ROOT.parent), count))
    return found


def main() -> int:
    found = oversized()
    for path, count in found:
        print(f"{path}: {count} lines (more than {MAX_LINES}): split it")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
