# The two set-up commands of README.md: `make stack` and `make test`.
# Both build .venv from uv.lock on first use (and when pyproject.toml or uv.lock change), so
# every machine, CI run and image resolves the same versions. uv is the one on PATH, else the
# pinned version below, installed with pip into .cache/uv on first use.
# After changing dependencies in pyproject.toml: `make lock`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9
UV_HOME := .cache/uv
UV := $(or $(shell command -v uv 2>/dev/null),$(UV_HOME)/bin/uv)
EXTRAS := --extra dev --extra local --extra sandbox
export UV_PYTHON_DOWNLOADS := never

.PHONY: stack test lint lock bench-ingest clean

$(UV_HOME)/bin/uv:
	$(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/pip install --quiet uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --quiet --frozen $(EXTRAS) --python $(PYTHON)
	touch $(STAMP)

## Resolve pyproject.toml's dependencies again into uv.lock.
lock: | $(UV)
	$(UV) lock --python $(PYTHON)

## Run the whole stack locally (Redis, sandbox, ingest, three workers); Ctrl-C stops it.
stack: $(STAMP)
	$(BIN)/python -m devstack

## Lint, type-check and run every test (unit, integration, e2e, deploy).
test: $(STAMP)
	bash deploy/tools/ensure-tools.sh >/dev/null
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench-ingest: $(STAMP)
	$(BIN)/python -m bench.ingest

clean:
	rm -rf $(VENV) .devstack .cache .pytest_cache .mypy_cache .ruff_cache .ci-stack.log
