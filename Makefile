# One entry point for the dev loop: `make run` starts the gateway, `make test` runs the tests.
# Both create .venv and install the project into it on first use (and again when pyproject.toml changes):
# `make run` only what running needs, every other target the development tools too.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed

.PHONY: run test lint fmt fuzz bench check clean pyz

$(RUNTIME_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(RUNTIME_STAMP)
	@test -f .env || $(PY) gateway.py init
	$(PY) gateway.py

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Schemathesis against a running gateway (sandbox engine), from its own OpenAPI document.
fuzz: $(STAMP)
	$(PY) scripts/fuzz_api.py

# Benchmarks against a bare aiohttp baseline measured in the same run; writes BENCHMARKS.md (~5 min).
bench: $(STAMP)
	$(PY) bench/run.py

# The single-file build, dist/wa-gateway-<version>-py<X.Y>-linux-<arch>.pyz (needs no venv).
pyz:
	./build_pyz.sh

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: test lint

clean:
	rm -rf $(VENV) build dist *.egg-info
