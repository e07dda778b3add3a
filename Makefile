# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

# `make check` is the fast tier while working: lint, types and every test not marked slow or
# e2e, on SQLite only, property tests capped at 50 examples (tests/conftest.py), in parallel.
# `make test` (CI) runs everything on both databases, each property test at its own count.
.PHONY: demo test check lint typecheck pytest bench install install-test services clean

# -- environments ---------------------------------------------------------------------
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml examples/camera_service/pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[cli,server]' -e examples/camera_service
	touch $@

$(VENV)/.installed-test: pyproject.toml examples/camera_service/pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[test,server]' -e examples/camera_service
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# -- system services the tests use -------------------------------------------------------
# Tests run against SQLite and the local PostgreSQL, a real Prometheus (Debian's package,
# started by the tests on loopback) and openssl (throwaway certificates for SMTP over TLS).
# When something cannot be had this fails loudly rather than letting tests skip.
services:
	@bash scripts/ensure-system-packages.sh
	@bash scripts/ensure-postgres.sh

# -- the two commands ------------------------------------------------------------------
demo: install
	$(BIN)/rollwise demo

test: install-test services lint typecheck pytest

# Bytecode (and pytest's rewritten test modules) is kept between runs in $(VENV)/pycache,
# outside the tree, even where PYTHONDONTWRITEBYTECODE is set: compiling every module again
# was half of each worker's collection and of every Python subprocess a test starts.
check: install-test services lint typecheck
	env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(CURDIR)/$(VENV)/pycache \
	  $(BIN)/pytest -q -m "not slow and not e2e" --databases sqlite --hypothesis-profile=fast \
	  -n auto --dist loadfile

lint: install-test
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: install-test
	$(BIN)/mypy

# Two workers (these machines have two cores): each has its own PostgreSQL database
# (tests/_db.py), its own temporary directories and free ports.
pytest: install-test
	env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(CURDIR)/$(VENV)/pycache \
	  $(BIN)/pytest -q -n 2 --dist loadfile --durations=25

bench: install-test
	$(PIP) install --quiet -e '.[bench,server]'
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/evaluate.py --peers
	$(BIN)/python bench/middleware_overhead.py
	$(BIN)/python bench/canary_judge.py
	$(BIN)/python bench/config_endpoint.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
