SHELL := /bin/bash
# Two entry points: `make demo` (a real search on a bundled dataset) and `make test`.
# Both create .venv and install the project into it on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install demo test lint browser netns readme bench-quick bench-anchors clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev,torch]' 2> >(grep -v "is ignored: it is neither" >&2)
	touch $(STAMP)

install: $(STAMP)

# A real HyperBand search over the numpy MLP on digits, on local Ray.
demo: $(STAMP)
	$(BIN)/hpo run search_spaces/mlp.yaml --scheduler hyperband --max-epochs 27 --executor ray

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The dashboard tests drive Debian's chromium headless (no browser download).
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the dashboard tests"; \
	  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 || \
	  (sudo apt-get update -qq && sudo apt-get install -y -qq chromium) >/dev/null; }

# The README's console examples, rewritten from what the commands print (tests/test_readme.py
# fails while any is stale).
readme: $(STAMP)
	$(BIN)/python -m tests.readme_console --write

# The tests of several hosts (tests/netns.py) make network namespaces with Debian's iproute2.
netns:
	@command -v ip >/dev/null || { \
	  echo "installing Debian's iproute2 for the tests of several hosts"; \
	  (apt-get update -qq && apt-get install -y -qq iproute2) >/dev/null 2>&1 || \
	  (sudo apt-get update -qq && sudo apt-get install -y -qq iproute2) >/dev/null; }

test: lint browser netns
	$(BIN)/pytest -q --durations=20

# Every benchmark's anchors: the [bench] extra (grpcio, ray[tune], playwright), Debian's
# chromium, and .venv-bench with its tables.
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install -q -e '.[bench]' 2> >(grep -v "is ignored: it is neither" >&2)
	touch $@

# Not benchmarks: the shared module, and the table converter bench-anchors runs.
BENCHMARKS := $(filter-out bench/_common.py bench/foreign_tables.py,$(wildcard bench/*.py))
bench-quick: $(BENCH_STAMP) browser bench-anchors
	for b in $(BENCHMARKS); do $(BIN)/python $$b --quick || exit 1; done

# The anchors (Syne Tune, DEHB, SMAC) and the foreign tables (FCNet, LCDB) in their own
# environment (they pin numpy < 2), then the tables in the format of `hpo simulate`.
bench-anchors: .venv-bench/.installed $(STAMP)
	@test -f results/tables/lcdb_accuracy.parquet || $(BIN)/python bench/foreign_tables.py
.venv-bench/.installed: bench/anchors/requirements.txt
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install -q -r bench/anchors/requirements.txt 2> >(grep -v "is ignored: it is neither" >&2)
	touch $@

clean:
	rm -rf $(VENV) .venv-bench .pytest_cache .ruff_cache .hypothesis
