# Two entry points for people (`make demo`, `make test`); everything else they need
# is bootstrapped here: uv in its own small venv, then the project venv from uv.lock.
PYTHON ?= python3
UV_VERSION := 0.13.8
BOOT := .uv
UV := $(BOOT)/bin/uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck pytest unit bench clean

$(UV):
	$(PYTHON) -m venv $(BOOT)
	$(BOOT)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode --extra dev
	@touch $@

demo: $(VENV)/.synced
	$(BIN)/python -m dev_env.demo

lint: $(VENV)/.synced
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.synced
	$(BIN)/mypy

# playwright-core (npm) drives Debian's chromium in the Secrets page's browser test.
BROWSER_KIT := tests/airflow_ui/browser
$(BROWSER_KIT)/node_modules/.installed: $(BROWSER_KIT)/package-lock.json
	npm ci --prefix $(BROWSER_KIT) --no-audit --no-fund
	@touch $@

pytest: $(VENV)/.synced $(BROWSER_KIT)/node_modules/.installed  ## every test: unit, cli, stores, contract, airflow, e2e
	$(BIN)/pytest

unit: $(VENV)/.synced  ## only the tests that need no server (seconds)
	$(BIN)/pytest tests/unit tests/cli

test: lint typecheck pytest

bench: $(VENV)/.synced
	$(BIN)/python -m bench

clean:
	rm -rf $(BOOT) $(VENV) .pytest_cache .mypy_cache .ruff_cache
