# Two commands for a newcomer: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Development runs with DEBUG on; tests and production with it off.
DEV_ENV := DEBUG=true

.PHONY: run serve test lint format migrate seed clean messages bench bench-reports bench-scale bench-export loadtest backup restore

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

# Production (README "Production"): gunicorn on HOST:PORT, whitenoise serving the collected static
# files. Settings come from the environment only (DEBUG is forced off, so a development .env is
# never read): SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and the rest of README "Configuration".
# Migrates first (and creates CACHE_BACKEND=database's table); SERVE_MIGRATE=check on the second
# and further app servers only refuses to start while migrations are missing. WORKERS: gunicorn's 2 × CPUs + 1; TIMEOUT: seconds a request may
# take before its worker is replaced (exports above EXPORT_BACKGROUND_ROWS run in the background).
SERVE_MIGRATE ?= yes
WORKERS ?= $(shell echo $$(( 2 * $$(nproc 2>/dev/null || echo 1) + 1 )))
TIMEOUT ?= 30
serve: $(VENV)/.installed
	DEBUG=false $(BIN)/python manage.py check --deploy
	DEBUG=false $(BIN)/python manage.py collectstatic --noinput -v 0
	@if [ "$(SERVE_MIGRATE)" = check ]; then \
	  echo "DEBUG=false $(BIN)/python manage.py migrate --check"; \
	  DEBUG=false $(BIN)/python manage.py migrate --check; \
	else \
	  echo "DEBUG=false $(BIN)/python manage.py migrate --noinput"; \
	  DEBUG=false $(BIN)/python manage.py migrate --noinput && \
	  DEBUG=false $(BIN)/python manage.py createcachetable; \
	fi
	exec env DEBUG=false $(BIN)/gunicorn config.wsgi --bind $(HOST):$(PORT) --workers $(WORKERS) \
	  --timeout $(TIMEOUT) --graceful-timeout $(TIMEOUT) --max-requests 2000 \
	  --max-requests-jitter 200 --access-logfile - $(GUNICORN_ARGS)

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

# Load and fault test (issues 9 and 11): gunicorn (3 workers, production settings) on the register
# and locust, headless: 50 users (public-list visitors, reviewers, 浙江 clerks, one of whom imports
# a small list) for 60 s; prints requests/s, p50, p95, p99 and failures. Then a second run during
# which PostgreSQL is restarted (as root: it cuts every other connection to it for a moment), with
# the failures and the time to recover, and an import killed while it writes, with the register's
# counts before and after. About 5 minutes. BENCH_ARGS="--no-restart --no-kill", "--save NAME".
loadtest: $(VENV)/.installed-bench
	SECRET_KEY=bench-only-not-a-secret $(BIN)/python bench/loadtest_run.py $(BENCH_ARGS)

# Backups (README "Backups"): the configured database (SQLite's online backup API, or pg_dump
# on PostgreSQL) and the attachments under PRIVATE_MEDIA_ROOT, in one timestamped .tar in
# BACKUP_DIR (default backups/). Safe while the system runs. `make restore FILE=backups/….tar`
# puts one back into the configured database, refusing one that holds data unless FORCE=1.
backup: $(VENV)/.installed
	$(BIN)/python manage.py backup

restore: $(VENV)/.installed
	@test -n "$(FILE)" || { echo "usage: make restore FILE=backups/licences-….tar [FORCE=1]"; exit 2; }
	$(BIN)/python manage.py restore "$(FILE)" $(if $(filter 1,$(FORCE)),--force)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles test-artifacts
