# Ansible side of harbor-twisted: roles, their Molecule scenarios, and the lint.
# Included from the top-level Makefile (`include mk/ansible.mk`); usable alone as
# `make -f mk/ansible.mk TARGET`.
#
#   ansible-setup    .venv-ansible with ansible, molecule, ansible-lint (scripts/setup-ansible.sh)
#   ansible-images   the stand-in host images, built once and reused by tag (images/build.sh)
#   ansible-lint     yamllint + ansible-lint (production profile, offline)
#   collection-sanity  ansible-test sanity for collections/ansible_collections/harbor_twisted/registry
#   molecule-test    every Molecule scenario under roles/ (MOLECULE_JOBS=N to run N at a time)

ANSIBLE_VENV ?= .venv-ansible
ANSIBLE_BIN := $(ANSIBLE_VENV)/bin
ANSIBLE_YAML_PATHS := roles molecule collections .ansible-lint .yamllint $(wildcard playbooks inventories)
MOLECULE_SCENARIOS ?=

.PHONY: ansible-setup ansible-images ansible-lint collection-sanity molecule-test

ansible-setup:
	@bash scripts/setup-ansible.sh

ansible-images:
	@bash images/build.sh all

ansible-lint: ansible-setup
	@PATH="$(abspath $(ANSIBLE_BIN)):$$PATH" $(ANSIBLE_BIN)/yamllint -s $(ANSIBLE_YAML_PATHS)
	@PATH="$(abspath $(ANSIBLE_BIN)):$$PATH" NO_COLOR=1 $(ANSIBLE_BIN)/ansible-lint -q

# its test virtualenvs (--venv --requirements) are made once, under ~/.ansible/test
collection-sanity: ansible-setup
	@bash scripts/collection-sanity.sh

molecule-test: ansible-setup ansible-images
	@bash molecule/run-scenarios.sh $(MOLECULE_SCENARIOS)
