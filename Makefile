# Two commands for a newcomer: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Development runs with DEBUG on; tests and production with it off.
DEV_ENV := DEBUG=true

.PHONY: run test lint format migrate seed clean messages bench bench-reports bench-scale bench-export loadtest

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (PYTHON=$(PYTHON)).")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,bench]"
	@touch $@ $(VENV)/.installed $(VENV)/.installed-test

# The development settings, read by every manage.py command run in this folder (without DEBUG
# in the environment): DEBUG on and a secret key of its own. Written once, readable by its
# owner only; production and the tests set DEBUG in their environment and never read it.
.env: | $(BIN)/python
	@umask 077 && $(BIN)/python -c 'import secrets; print("# Development settings written by make run (git-ignored). Delete to regenerate.\nDEBUG=true\nSECRET_KEY=" + secrets.token_urlsafe(50))' > $@.tmp && mv $@.tmp $@
	@echo "Wrote .env (DEBUG=true and a generated SECRET_KEY) for manage.py commands in this folder."

migrate: $(VENV)/.installed .env
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput

seed: migrate
	$(DEV_ENV) $(BIN)/python manage.py seed_demo

run: seed
	@echo ""
	@echo "  Open http://$(HOST):$(PORT)/admin/ and log in with one of the demo accounts above;"
	@echo "  the public list of licensed manufacturers is http://$(HOST):$(PORT)/public/ (no login)."
	@echo ""
	$(DEV_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.installed-test
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages:
	tools/update_translations.sh

# Import benchmark (issue 3): generates lists into bench-data/, imports them into fresh temporary
# databases and prints the figures of the README's "Performance" section. About 5 minutes.
# BENCH_DATABASE_URL=postgres://… runs it on PostgreSQL; BENCH_ARGS="--sizes 5000" for a quick run.
bench: $(VENV)/.installed-test
	SECRET_KEY=bench-only-not-a-secret $(BIN)/python bench/import_bench.py $(BENCH_ARGS)

# Reports benchmark (issue 8): builds, in PostgreSQL (BENCH_DATABASE_URL, else licences_bench on
# 127.0.0.1), a national register of 1,000,000 products with the project's own import (about eight
# minutes the first time; reused afterwards), then times the report pages (about four minutes).
# BENCH_ARGS="--products 20000" for a quick run (its own database), "--rebuild" to build again.
bench-reports: $(VENV)/.installed-test
	SECRET_KEY=bench-only-not-a-secret $(BIN)/python bench/reports_bench.py $(BENCH_ARGS)

# Admin screens and exports at national scale (issue 9): on the same register, each list, search,
# filter, change, return and review page timed as a reviewer or a 浙江 clerk (median, queries,
# bytes, status), and 浙江's exports in processes of their own (seconds, peak memory). Half an
# hour when the pages take seconds. BENCH_ARGS="--save after --compare before" for the table of
# the README; "--only licences,export_csv" for some; "--code-root DIR" to time another tree.
bench-scale: $(VENV)/.installed-test
	SECRET_KEY=bench-only-not-a-secret $(BIN)/python bench/scale_bench.py $(BENCH_ARGS)

# Exports at national scale (issue 9): on a copy of that register (licences_bench_export, made
# once from licences_bench), 浙江's exports and the reviewer's national export as a background
# job, each in a process of its own: status, seconds, peak memory, queries. About 3 minutes.
bench-export: $(VENV)/.installed-test
	SECRET_KEY=bench-only-not-a-secret $(BIN)/python bench/export_bench.py $(BENCH_ARGS)

# Load test (issue 9): gunicorn (3 workers, production settings) on the register and locust,
# headless: 20 signed-in users, half reviewers, half 浙江 clerks, for 60 s over those screens;
# prints requests/s, p50, p95, p99 and failures. About 2 minutes. BENCH_ARGS="--save NAME" too.
loadtest: $(VENV)/.installed-bench
	SECRET_KEY=bench-only-not-a-secret $(BIN)/python bench/loadtest_run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles test-artifacts
