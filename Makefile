# One entry point for people and CI. Every target creates the virtualenv if it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: install test lint typecheck pytest demo bench reliability clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
