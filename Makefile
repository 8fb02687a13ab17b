# harbor-twisted: `make run` starts the service, `make test` runs every test.
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run setup venv test test-fast lint bench clean

include mk/ansible.mk

venv:
	@bash scripts/setup-host.sh venv

# Debian packages, the Docker daemon, the project's venv, the Ansible venv and the stand-in
# host images: everything the tests need, installed or started only when missing.
setup:
	@bash scripts/setup-host.sh all
	@$(MAKE) --no-print-directory ansible-setup ansible-images

run: venv
	$(VENV)/bin/harbor-twisted all-in-one --config etc/harbor-twisted.dev.yaml

lint: venv
	$(VENV)/bin/ruff check harbor_twisted tests bench scripts

# The whole truth: installs what is missing, lints Python and Ansible, runs the Python suite
# on SQLite and PostgreSQL and every Molecule scenario, and ends with "N passed, N failed".
test: setup lint ansible-lint
	@bash scripts/run-tests.sh $(PYTEST_ARGS)

# The Python suite without the real-client end-to-end tests, for quick iteration.
test-fast: venv
	$(VENV)/bin/pytest -q -x --ignore=tests/e2e $(PYTEST_ARGS)

bench: setup
	$(PY) bench/run.py

clean:
	rm -rf build .data .pytest_cache
