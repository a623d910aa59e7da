# Everything runs from a virtualenv built from the hashed lock file, so a fresh machine
# gets exactly the versions the tests ran with.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements/dev.lock
STAMP := $(VENV)/.installed
# The demo has an environment of its own with the runtime dependencies only, so a first
# `make demo` does not wait for the test and lint toolchain.
DEMO_VENV := .venv-demo
DEMO_LOCK := requirements/demo.lock
DEMO_STAMP := $(DEMO_VENV)/.installed
UV_COMPILE := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.10 \
	--generate-hashes --quiet

.PHONY: venv system-deps demo test test-fast check lint typecheck suite live-check completions lock \
	bench clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

$(DEMO_STAMP): pyproject.toml $(DEMO_LOCK)
	test -x $(DEMO_VENV)/bin/python || $(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r $(DEMO_LOCK)
	$(DEMO_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
		--no-build-isolation -e .
	touch $(DEMO_STAMP)

## demo: set up, start the sandbox, store credentials and check them against it
demo: $(DEMO_STAMP)
	bash scripts/demo.sh $(DEMO_VENV)

## test: what CI runs: system packages, format check, lint, mypy --strict, the whole suite
## with coverage, SARIF validation
test: system-deps lint typecheck suite sarif-validate

## check: the same as test
check: test

## system-deps: git, dbus and gnome-keyring for the real-keyring tests (as root or via sudo)
system-deps:
	bash scripts/system-deps.sh

## sarif-validate: Microsoft's SARIF Multitool (from npm) checks the SARIF of scan-repo and audit
.PHONY: sarif-validate
sarif-validate: venv
	bash scripts/sarif-validate.sh

lint: venv
	$(BIN)/ruff format --check cio_sec tests bench
	$(BIN)/ruff check cio_sec tests bench

typecheck: venv
	$(BIN)/mypy

## test-fast: the tests not marked slow, without coverage: the loop to run while working
## (make test still runs everything)
test-fast: venv
	$(BIN)/python -m pytest -m 'not slow'

## suite: the whole pytest suite with branch coverage, nothing else
suite: venv
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest
	$(BIN)/coverage combine --quiet
	$(BIN)/coverage report

## live-check: the contract suite against a real test workspace, named by CUSTOMERIO_SITE_ID,
## CUSTOMERIO_TRACK_API_KEY, CUSTOMERIO_APP_API_KEY and CUSTOMERIO_REGION (see docs/development.md)
live-check: venv
	CIO_SEC_LIVE=1 $(BIN)/python -m pytest tests/contract -p no:cacheprovider --timeout=900 \
		--allow-hosts=127.0.0.1,::1,$(LIVE_HOSTS)

LIVE_HOSTS := track.customer.io,track-eu.customer.io,api.customer.io,api-eu.customer.io

## completions: regenerate the completion table (cio_sec/completion/table.py) from the CLI
completions: venv
	$(BIN)/python scripts/gen_completions.py

## lock: re-resolve requirements/dev.lock (runtime + the dev group) and, within its pins,
## requirements/demo.lock (runtime + the build group) from pyproject.toml (needs network)
lock:
	$(UV_COMPILE) --group dev --output-file $(LOCK)
	$(UV_COMPILE) --group build --constraint $(LOCK) --output-file $(DEMO_LOCK)

bench: venv
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/sandbox.py
	$(BIN)/python bench/scan_repo.py
	$(BIN)/python bench/sanitize.py
	$(BIN)/python bench/erase.py
	$(BIN)/python bench/purge.py
	$(BIN)/python bench/webhook_serve.py

clean:
	rm -rf $(VENV) $(DEMO_VENV) .coverage .coverage.* .mypy_cache .ruff_cache .pytest_cache
