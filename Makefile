# 8D Workbench - the two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: setup setup-dev run test lint bench prod-demo drill stack-packages clean messages

# `make run` installs what the app needs (requirements.txt); `make test` adds the test tools
# (requirements-dev.txt). Each step is redone when its file changes.
$(BIN)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(BIN)/.dev: $(BIN)/.runtime requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(BIN)/.bench: $(BIN)/.dev requirements-bench.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $@

setup: $(BIN)/.runtime
setup-dev: $(BIN)/.dev

## Set up, migrate, load demo data on first run, serve on http://127.0.0.1:5000 (SQLite, local files).
run: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --if-empty
	$(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

## Set up and run the test suite (SQLite; TEST_DATABASE_URL=postgresql+psycopg://... for PostgreSQL).
test: setup-dev
	$(BIN)/pytest

lint: setup-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache

## Benchmarks (not part of make test): prints a table and writes bench/RESULTS.md.
bench: $(BIN)/.bench
	@command -v wrk >/dev/null 2>&1 || { echo "== installing Debian's wrk (the load generator) =="; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk > /dev/null; }
	$(BIN)/python bench/run.py

## The production layout on loopback until Ctrl-C: nginx, 2 app processes (gunicorn sync workers),
## 2 mail workers, PostgreSQL, Redis, an S3 server and an SMTP sink of its own (bench/stack.py).
prod-demo: setup-dev stack-packages
	$(BIN)/python bench/stack.py

## That layout under 200 simulated users for 5 minutes while parts of it are killed (not part of
## make test; DRILL_USERS, DRILL_SECONDS shorten it): writes the Drill section of bench/RESULTS.md.
drill: setup-dev stack-packages
	$(BIN)/python bench/drill.py

stack-packages:
	@sh bench/stack-packages.sh

## Translations (Flask-Babel): `make messages` extracts every wrapped text into
## app/translations/messages.pot, merges it into each language's messages.po, compiles the .mo
## files (committed, so a fresh clone and the image need no build step) and lists what is left to
## translate. Fill the empty msgstr (and clear "fuzzy") in app/translations/<lang>/LC_MESSAGES/
## messages.po, run `make messages` again; tests/test_translations.py fails while any is missing.
## A new language: `pybabel init -i app/translations/messages.pot -d app/translations -l xx`.
messages: setup-dev
	$(BIN)/python -m app.i18n_catalogue --update
