#!/usr/bin/env bash
# Every test: the Python suite (SQLite and PostgreSQL, real docker, skopeo) and every Molecule
# scenario. The Molecule scenarios spend most of their time waiting on containers (apt,
# systemd, health checks), so they run alongside pytest rather than after it. Both always run
# to the end; the script ends with one plain "N passed, N failed" line and fails when
# anything failed or nothing was collected.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/molecule
rm -f build/junit.xml build/molecule/*.result

bash molecule/run-scenarios.sh >build/molecule/run.log 2>&1 &
molecule_pid=$!

.venv/bin/pytest -q -p no:cacheprovider --junitxml=build/junit.xml "$@"
pytest_status=$?
if ((pytest_status == 5)); then
  echo "pytest collected no tests: that is a failure to fix"
fi

echo "[molecule] waiting for the scenarios (progress: build/molecule/run.log)"
wait "$molecule_pid"
molecule_status=$?
cat build/molecule/run.log

.venv/bin/python scripts/summarize-tests.py build/junit.xml build/molecule
summary_status=$?
((pytest_status == 0 && molecule_status == 0 && summary_status == 0))
