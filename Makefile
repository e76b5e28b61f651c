# make run   — create .venv, install g3sim, run the baseline scenario and print the headline
# make test  — create .venv, install g3sim with test extras, run ruff, the import layers and the whole test suite
# make test-fast — the same checks on the tests not marked slow, on every core (about 30 s)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run test test-fast lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/g3sim run configs/baseline.toml --force --workers auto

# The whole suite: the quick tests on both cores, then the slow ones (which start their own
# worker processes, clusters and subprocesses, and time them) one at a time.
test: lint
	$(BIN)/python -m pytest -q -m "not slow" -n 2
	$(BIN)/python -m pytest -m slow

test-fast: lint
	$(BIN)/python -m pytest -q -m "not slow" -n auto

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py

clean:
	rm -rf $(VENV) build *.egg-info
