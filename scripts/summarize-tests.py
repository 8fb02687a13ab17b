"""Print one plain 'N passed, N failed' line for pytest (JUnit XML) and Molecule results."""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def pytest_counts(report: Path) -> tuple[int, int, int]:
    if not report.exists():
        return 0, 1, 0  # pytest did not even write its report
    root = ET.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return total - failed - skipped, failed, skipped


def molecule_counts(directory: Path) -> tuple[int, int]:
    passed = failed = 0
    for result in sorted(directory.glob("*.result")):
        status = result.read_text().split()[0] if result.read_text().strip() else "1"
        if status == "0":
            passed += 1
        else:
            failed += 1
    return passed, failed


def main() -> int:
    py_passed, py_failed, py_skipped = pytest_counts(Path(sys.argv[1]))
    mol_passed, mol_failed = molecule_counts(Path(sys.argv[2]))
    print(f"pytest: {py_passed} passed, {py_failed} failed, {py_skipped} skipped; "
          f"molecule: {mol_passed} passed, {mol_failed} failed")
    passed, failed = py_passed + mol_passed, py_failed + mol_failed
    print(f"{passed} passed, {failed} failed")
    nothing_ran = py_passed + py_failed == 0 or mol_passed + mol_failed == 0
    return 1 if failed or nothing_ran or py_skipped else 0


if __name__ == "__main__":
    sys.exit(main())
