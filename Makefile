# harbor-twisted: `make run` starts the service, `make test` runs every test.
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run setup venv test test-fast test-deploy lint bench clean bundle lab lab-down lab-ha lab-ha-down appliance test-appliance

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

# ruff; the one-way layers (import-linter, contracts in pyproject.toml); declared dependencies
# (deptry); types (mypy); no copied code (pylint's duplicate-code only); no module over 500 lines.
lint: venv
	$(VENV)/bin/ruff check harbor_twisted tests bench scripts
	$(VENV)/bin/lint-imports
	$(VENV)/bin/deptry .
	$(VENV)/bin/mypy
	$(VENV)/bin/pylint harbor_twisted
	$(PY) scripts/check_module_size.py

# The whole truth: installs what is missing, lints Python and Ansible, runs ansible-test
# sanity on the harbor_twisted.registry collection, runs the Python suite
# on SQLite and PostgreSQL and every Molecule scenario, and ends with "N passed, N failed".
test: setup lint ansible-lint collection-sanity
	@bash scripts/run-tests.sh $(PYTEST_ARGS)

# The Python suite without the real-client end-to-end tests, for quick iteration.
test-fast: venv
	$(VENV)/bin/pytest -q -x --ignore=tests/e2e $(PYTEST_ARGS)

# Every Molecule scenario alone, without the Python suite (`make test` runs both):
# molecule/default (site.yml on three hosts), molecule/photon (the Photon-dressed site),
# harbor_registry:upgrade (upgrade from an earlier commit, backup, wipe, restore) and the
# per-role scenarios. MOLECULE_SCENARIOS="site:default ..." picks some.
test-deploy: setup ansible-setup ansible-images
	bash molecule/run-scenarios.sh $(MOLECULE_SCENARIOS)

bench: setup
	$(PY) bench/run.py

# The offline installation bundle (harbor-twisted + every dependency as wheels, python-ldap
# compiled for THIS platform): build/bundle/harbor-twisted-bundle.tar.gz. Reused while the
# sources are unchanged. The harbor_registry role installs it with no package index.
bundle:
	@bash scripts/build-bundle.sh

# The virtual appliance: build/appliance/harbor-twisted-VERSION.ova (docs/appliance.md), made
# offline by the roles in a stand-in container; reused while its inputs are unchanged.
appliance: setup bundle
	@bash appliance/build.sh

# The appliance's tests (structure, then boots A and B under QEMU): not part of make test,
# which they would outlast here (TCG only: /dev/kvm is PVM; see docs/appliance.md).
test-appliance: venv appliance
	HT_APPLIANCE_TESTS=1 $(VENV)/bin/pytest -q -s tests/appliance $(PYTEST_ARGS)

# A lab on this machine: ldap1, registry1 (https://localhost:8443), registry2
# (https://localhost:9443) as stand-in containers, converged by playbooks/site.yml.
lab: setup bundle
	@bash scripts/lab.sh up

lab-down:
	@bash scripts/lab.sh down

# The HA lab: lb1 (HAProxy) in front of registry1..3 on db1's PostgreSQL and s3-1's Ceph RGW,
# with ldap1; the one URL https://localhost:8444 (scripts/lab.sh up ha, docs/scale-out.md).
lab-ha: setup bundle
	@bash scripts/lab.sh up ha

lab-ha-down:
	@bash scripts/lab.sh down ha

clean:
	rm -rf build .data .pytest_cache
