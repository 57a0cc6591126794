# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# pytest-xdist workers for `make test` and `make check`: one per core (TEST_WORKERS=0 runs the suite in this process)
TEST_WORKERS ?= auto

.PHONY: run test check lint fuzz bench demo migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

## serve on 127.0.0.1:8080 with the embedded defaults (SQLite under var/, simulated carrier, sample coverage)
run: $(STAMP)
	mkdir -p var
	$(BIN)/logistics migrate
	$(BIN)/logistics serve

## lint, type-check and run every test (what CI runs); the PostgreSQL leg needs Debian's `postgresql` package
test: $(TEST_STAMP) lint
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -n "$$POSTGRES_BIN" ] || \
		echo "note: PostgreSQL is not installed (no initdb): the PostgreSQL store's tests are skipped; install Debian's 'postgresql' package (sudo apt-get install postgresql) or set POSTGRES_BIN (in CI they fail instead)" >&2
	$(BIN)/pytest -q -n $(TEST_WORKERS)

## the everyday loop: lint and every test but the slow ones (the SIGKILL crash test); CI runs `make test`
check: $(TEST_STAMP) lint
	$(BIN)/pytest -q -n $(TEST_WORKERS) -m "not slow"

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy logistics carriers labels tests
	$(BIN)/lint-imports

## the API fuzzed against openapi.yaml (also part of `make test`)
fuzz: $(TEST_STAMP)
	$(BIN)/pytest -q tests/api/test_schemathesis.py

## benchmarks: print figures, assert nothing
bench: $(TEST_STAMP)
	@for script in tests/bench/bench_*.py; do echo "== $$script"; PYTHONPATH=. $(BIN)/python $$script || exit 1; done

## one journey of each method against the server that `make run` serves
demo: $(STAMP)
	$(BIN)/logistics demo

migrate: $(STAMP)
	$(BIN)/logistics migrate

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .hypothesis .import_linter_cache
