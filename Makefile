# Two commands do all the set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= settings.toml

.PHONY: install run test lint demo bench chaos clean

$(BIN)/shitstorm: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/shitstorm

run: install
	$(BIN)/shitstorm run --config $(CONFIG)

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check monitor detectors alerts tests benchmarks
	$(BIN)/mypy

demo: install
	$(BIN)/shitstorm demo

bench: install
	$(BIN)/python benchmarks/run_all.py

# kill -9, a Slack outage and garbage from the source, three seeds (about ten minutes); `make
# bench` runs one seed of it.
chaos: install
	$(BIN)/python benchmarks/chaos_bench.py --runs 3

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache
