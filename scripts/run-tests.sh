#!/usr/bin/env bash
# Every test: the Python suite (SQLite and PostgreSQL, real docker, skopeo) and every Molecule
# scenario. Both always run; the script ends with one plain "N passed, N failed" line and
# fails when anything failed or nothing was collected.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
rm -f build/junit.xml build/molecule/*.result

.venv/bin/pytest -q -p no:cacheprovider --junitxml=build/junit.xml "$@"
pytest_status=$?
if ((pytest_status == 5)); then
  echo "pytest collected no tests: that is a failure to fix"
fi

bash molecule/run-scenarios.sh
molecule_status=$?

.venv/bin/python scripts/summarize-tests.py build/junit.xml build/molecule
summary_status=$?
((pytest_status == 0 && molecule_status == 0 && summary_status == 0))
