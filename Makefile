# The commands a person types. `make run` serves the portal; `make test` runs the whole suite on
# real PostgreSQL, Redis and a Celery worker. Both install whatever is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY := .venv/bin/python
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres:postgres@127.0.0.1:5432/govcloud_eval
TEST_REDIS_URL ?= redis://127.0.0.1:6379/14
PYTEST_ARGS ?=

.PHONY: help run otp test e2e bootstrap bootstrap-test setup demo lint format messages check bench clean backup restore

help:
	@echo "make run    serve the portal at http://127.0.0.1:$(PORT) with demo data (SQLite, tasks in-process)"
	@echo "make test   the whole suite on PostgreSQL, Redis, S3, real Celery workers and Chromium"
	@echo "make e2e    one evaluation year on the deployed topology (part of make test)"
	@echo "make lint   ruff, mypy, the migrations check and docs/permissions.md"
	@echo "make bench the performance figures as one table (N=10 beside N=400), against their goals"
	@echo "make messages   extract and compile translations"
	@echo "make backup / make restore FROM=<folder>   database and files, with a SHA-256 manifest"

bootstrap:
	@scripts/bootstrap.sh run

bootstrap-test:
	@scripts/bootstrap.sh test

# Migrate, load the default catalogs and the demo data. Idempotent.
setup: bootstrap
	@$(PY) manage.py migrate --noinput
	@$(PY) manage.py load_default_catalogs
	@$(PY) manage.py make_dev_certificate
	@$(PY) manage.py load_demo

run: setup
	@echo ""
	@echo "  govcloud_eval is starting at http://127.0.0.1:$(PORT)  (Ctrl-C stops it)"
	@echo ""
	@exec $(PY) manage.py runserver 127.0.0.1:$(PORT)

# The current two-factor code of a demo account, for signing in to the demo: make otp ACCOUNT=admin
otp:
	@test -n "$(ACCOUNT)" || { echo "Say whose code: make otp ACCOUNT=admin"; exit 2; }
	@$(PY) manage.py demo_otp_code $(ACCOUNT)

# The test environment: PostgreSQL, Redis and the SeaweedFS S3 server scripts/services.sh starts.
TEST_ENV = export DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" \
	  TEST_S3_ENDPOINT_URL="$${TEST_S3_ENDPOINT_URL:-http://127.0.0.1:8333}" \
	  TEST_S3_ACCESS_KEY_ID="$${TEST_S3_ACCESS_KEY_ID:-gce-test-access-key}" \
	  TEST_S3_SECRET_ACCESS_KEY="$${TEST_S3_SECRET_ACCESS_KEY:-gce-test-secret-key-for-local-tests-only}"

test: bootstrap-test
	@scripts/services.sh
	@$(TEST_ENV); \
	  .venv/bin/ruff check . && \
	  .venv/bin/mypy && \
	  $(PY) manage.py makemigrations --check --dry-run && \
	  $(PY) manage.py permissions_doc --check && \
	  $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null && \
	  $(PY) -m pytest $(PYTEST_ARGS)

# One evaluation year on the deployed topology (gunicorn, Celery workers and beat, PostgreSQL,
# Redis, S3), driven by Chromium; `make test` runs it too.
e2e: bootstrap-test
	@scripts/services.sh
	@$(TEST_ENV); $(PY) -m pytest -m e2e tests/e2e $(PYTEST_ARGS)

lint: bootstrap-test
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@.venv/bin/mypy
	@$(PY) manage.py makemigrations --check --dry-run
	@$(PY) manage.py permissions_doc --check
	@$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

format:
	@.venv/bin/ruff format .
	@.venv/bin/ruff check --fix .

# Extract new strings into the .po files (then translate them), and compile the .mo files.
messages: bootstrap
	@$(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=var --ignore=tests --ignore=bench
	@$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf var/ .pytest_cache .ruff_cache

# The database and every stored file (evidence, reports, exports), with a SHA-256 manifest, into
# var/backups/<UTC time> (or TO=<new folder>); `make restore FROM=<folder>` puts one back into an
# empty database and storage and verifies every row count and file hash.
backup: bootstrap
	@$(PY) manage.py backup $(TO)

restore: bootstrap
	@test -n "$(FROM)" || { echo "Say which backup: make restore FROM=var/backups/<time>"; exit 2; }
	@$(PY) manage.py restore "$(FROM)"

# Figures, not tests (the machines are shared and noisy): pages at N=10 and N=400 (queries,
# time, size), campaign scoring through a real worker, the certified report and 400 of them
# through two worker processes, the public ranking page under gunicorn, server memory during a
# 1 GiB upload. Each script writes its figures to var/bench/; the last step prints them as one
# table with the N=10 and N=400 columns side by side, and fails when a goal is missed.
BENCH_SCRIPTS = pages score_campaign report_render reports_batch ranking_rps upload_memory audit_chain

bench: bootstrap-test
	@scripts/services.sh
	@rm -rf var/bench; mkdir -p var/bench; status=0; n=0; \
	  for script in $(BENCH_SCRIPTS); do \
	    n=$$((n + 1)); \
	    echo ""; echo "==> bench/$$script.py"; \
	    $(PY) bench/$$script.py --json var/bench/$$n-$$script.json || status=1; \
	  done; \
	  echo ""; $(PY) bench/summary.py var/bench || status=1; \
	  exit $$status
