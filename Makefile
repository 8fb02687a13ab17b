# harbor-twisted: `make run` starts the service, `make test` runs every test.
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run setup venv test test-fast lint bench clean

venv:
	@bash scripts/setup-host.sh venv

setup:
	@bash scripts/setup-host.sh all

run: venv
	$(VENV)/bin/harbor-twisted all-in-one --config etc/harbor-twisted.dev.yaml

lint: venv
	$(VENV)/bin/ruff check harbor_twisted tests bench scripts

# The whole truth: installs what is missing, starts dockerd, lints, runs every test on
# SQLite and PostgreSQL, and ends with a plain "N passed, N failed" line.
test: setup lint
	@mkdir -p build
	@status=0; $(VENV)/bin/pytest -q -p no:cacheprovider --junitxml=build/junit.xml $(PYTEST_ARGS) || status=$$?; \
	  $(PY) scripts/summarize-junit.py build/junit.xml || status=$${status:-1}; \
	  if [ $$status -eq 5 ]; then echo "no tests were collected"; fi; exit $$status

# The Python suite without the real-client end-to-end tests, for quick iteration.
test-fast: venv
	$(VENV)/bin/pytest -q -x --ignore=tests/e2e $(PYTEST_ARGS)

bench: setup
	$(PY) bench/run.py

clean:
	rm -rf build .data .pytest_cache
