# Developer tasks. `make demo` runs the embedded default; `make test` is what CI runs (.ci/run).

PYTHON ?= python3
VENV ?= .venv
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cardfile
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
PYTEST_ARGS ?=

# The install stamp carries a checksum of pyproject.toml, so changing it reinstalls.
PYPROJECT_SUM != cksum pyproject.toml | cut -d ' ' -f 1
STAMP = $(VENV)/.installed-$(PYPROJECT_SUM)
# Front-end packages from npm (package-lock.json), served as static files by the web UI.
LOCK_SUM != cksum package-lock.json | cut -d ' ' -f 1
ASSETS_STAMP = node_modules/.installed-$(LOCK_SUM)

# Runs a command in the embedded default with its state in a throwaway directory.
EMBEDDED = tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && unset DATABASE_URL REDIS_URL \
	&& CARDFILE_VAR_DIR="$$tmp"

.PHONY: venv assets demo test lint format clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "Cardfile needs Python 3.11 or newer; '$(PYTHON)' is:" \
			"$$($(PYTHON) --version 2>&1 || echo missing). Try: make PYTHON=python3.12" >&2; \
		exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

assets: $(ASSETS_STAMP)

$(ASSETS_STAMP): package-lock.json
	bash scripts/ensure-node.sh
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: venv assets
	$(VENV)/bin/cardfile demo

test: venv assets
	bash scripts/ensure-services.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(EMBEDDED) $(VENV)/bin/python manage.py makemigrations --check --dry-run
	bash scripts/test-passes.sh $(VENV) $(TEST_DATABASE_URL) $(TEST_REDIS_URL) $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Leaves .venv and var/ (the demo database and its secret key) alone.
clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
