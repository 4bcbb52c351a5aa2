SHELL := /bin/bash
# Two entry points: `make demo` (a real search on a bundled dataset) and `make test`.
# Both create .venv and install the project into it on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install demo test lint bench-quick clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]' 2> >(grep -v "is ignored: it is neither" >&2)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/hpo train --dataset digits --epochs 30

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest -q

bench-quick: $(STAMP)
	$(BIN)/python bench/trainer_speed.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
