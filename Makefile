# The two set-up commands of README.md: `make stack` and `make test`.
# Both bootstrap .venv from pyproject.toml on first use (and when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: stack test lint bench-ingest clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,local]'
	touch $(STAMP)

## Run the whole stack locally (Redis, sandbox, ingest, three workers); Ctrl-C stops it.
stack: $(STAMP)
	$(BIN)/python -m hookyard.devstack

## Lint, type-check and run every test (unit, integration, e2e, deploy).
test: $(STAMP)
	bash deploy/tools/ensure-tools.sh >/dev/null
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .devstack .cache .pytest_cache .mypy_cache .ruff_cache
