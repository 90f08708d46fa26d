# The two commands of the README: `make run` and `make test`. Only Python 3.11+ and make needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint bench install install-test clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## make run: install, migrate the embedded SQLite database, load the demo, serve on :8000
run: install
	$(BIN)/tierslieu db upgrade
	$(BIN)/tierslieu demo
	@echo "tierslieu : http://$(HOST):$(PORT)  (API documentée sur http://$(HOST):$(PORT)/schema)"
	$(BIN)/tierslieu serve --host $(HOST) --port $(PORT)

## make test: lint, then the whole suite on SQLite, then on PostgreSQL if TIERSLIEU_TEST_DATABASE_URL is set
test: install-test lint
	env -u TIERSLIEU_TEST_DATABASE_URL $(BIN)/pytest
	@if [ -n "$$TIERSLIEU_TEST_DATABASE_URL" ]; then \
		echo "--- PostgreSQL pass: $$TIERSLIEU_TEST_DATABASE_URL"; \
		$(BIN)/pytest; \
	else \
		echo "--- PostgreSQL pass skipped (TIERSLIEU_TEST_DATABASE_URL is not set)"; \
	fi

## make bench: benchmarks on SQLite and PostgreSQL (needs Debian's wrk); not part of the tests
bench: install-test
	$(BIN)/python benchmarks/run.py

## make messages: extract every msgid (French), update the .po catalogues, compile them to .mo
messages: install-test
	@mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output -k N_ -o build/messages.pot .
	$(BIN)/pybabel update -i build/messages.pot -d src/tierslieu/locale -D messages --ignore-obsolete --no-fuzzy-matching --width 100
	$(BIN)/pybabel compile -d src/tierslieu/locale -D messages --statistics

lint: install-test
	$(BIN)/ruff check src tests alembic benchmarks
	$(BIN)/ruff format --check src tests alembic benchmarks

clean:
	rm -rf $(VENV) .pytest_cache tierslieu.db tierslieu.db-wal tierslieu.db-shm
