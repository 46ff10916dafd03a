# One entry point for people and CI. Every target creates the virtualenv if it is missing, and
# installs the exact versions in requirements/constraints.txt (`make lock` refreshes them).
PYTHON      ?= python3
VENV        ?= .venv
BIN          = $(VENV)/bin
STAMP        = $(VENV)/.installed
CONSTRAINTS  = requirements/constraints.txt
PIP          = $(BIN)/python -m pip --disable-pip-version-check

.PHONY: install test lint typecheck pytest demo bench reliability lock install-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(PIP) install --quiet -c $(CONSTRAINTS) pip
	$(PIP) uninstall --quiet --yes dialer 2>/dev/null || true  # our old distribution name
	$(PIP) install --quiet -c $(CONSTRAINTS) -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check dialer tests benchmarks
	$(BIN)/ruff format --check dialer tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy --strict dialer

pytest: $(STAMP)
	$(BIN)/pytest -q -m "not reliability"

test: lint typecheck pytest

demo: $(STAMP)
	$(BIN)/dialer demo

bench: $(STAMP)
	$(BIN)/python -m benchmarks

reliability: $(STAMP)
	$(BIN)/pytest -q

# Re-resolve every runtime and dev dependency to its newest allowed version in a fresh
# virtualenv, and pin what it got. Run it, then `make test`, then commit the file.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	.lock-venv/bin/python requirements/freeze.py > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf .lock-venv
	@echo "wrote $(CONSTRAINTS); now run make test and commit it"

# What a user gets: a wheel installed (not editable) into a fresh virtualenv, then from an
# empty folder `dialer --version`, `dialer demo`, `dialer init` and `dialer validate --sandbox`.
install-check:
	PYTHON=$(PYTHON) CONSTRAINTS=$(CURDIR)/$(CONSTRAINTS) sh requirements/install-check.sh

clean:
	rm -rf $(VENV) .lock-venv .pytest_cache .mypy_cache .ruff_cache build dist
