# Two commands do all the set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= settings.toml

.PHONY: install run test lint demo bench chaos train-sentiment clean

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
	$(BIN)/ruff format --check monitor detectors alerts tests benchmarks
	$(BIN)/mypy
	$(BIN)/mypy tests benchmarks

demo: install
	$(BIN)/shitstorm demo

bench: install
	$(BIN)/python benchmarks/run_all.py

# kill -9, a Slack outage and garbage from the source, three seeds (about ten minutes); `make
# bench` runs one seed of it.
chaos: install
	$(BIN)/python benchmarks/chaos_bench.py --runs 3

# Rebuilds the shipped sentiment models (monitor/data/sentiment/) from ../shared/data and the
# English ratings in the vaderSentiment 3.3.2 source archive (fetched from PyPI, sha256-checked).
VADER_SDIST := var/train/vaderSentiment-3.3.2.tar.gz

$(VADER_SDIST):
	$(BIN)/pip download --quiet --no-deps --no-binary :all: --dest var/train vaderSentiment==3.3.2

train-sentiment: install $(VADER_SDIST)
	$(BIN)/python -m monitor.sentiment.training --data ../shared/data --vader-sdist $(VADER_SDIST)

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache
