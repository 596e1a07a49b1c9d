# The commands a person types. `make run` serves the portal; `make test` runs the whole suite on
# real PostgreSQL, Redis and a Celery worker. Both install whatever is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY := .venv/bin/python
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres:postgres@127.0.0.1:5432/govcloud_eval
TEST_REDIS_URL ?= redis://127.0.0.1:6379/14
PYTEST_ARGS ?=

.PHONY: help run test e2e bootstrap bootstrap-test setup demo lint format messages check bench clean

help:
	@echo "make run    serve the portal at http://127.0.0.1:$(PORT) with demo data (SQLite, tasks in-process)"
	@echo "make test   the whole suite on PostgreSQL, Redis, S3, real Celery workers and Chromium"
	@echo "make e2e    one evaluation year on the deployed topology (part of make test)"
	@echo "make lint   ruff, mypy, the migrations check and docs/permissions.md"
	@echo "make messages   extract and compile translations"

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

format:
	@.venv/bin/ruff format .
	@.venv/bin/ruff check --fix .

# Extract new strings into the .po files (then translate them), and compile the .mo files.
messages: bootstrap
	@$(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=var --ignore=tests --ignore=bench
	@$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf var/ .pytest_cache .ruff_cache

# Figures, not tests: server memory during a 1 GiB evidence upload, campaign scoring through a
# real worker, report rendering against the fontTools fallback, ranking page requests per second.
bench: bootstrap
	@scripts/services.sh && .venv/bin/python bench/upload_memory.py
	@scripts/services.sh && .venv/bin/python bench/score_campaign.py
	@.venv/bin/python bench/report_render.py
	@scripts/services.sh && .venv/bin/python bench/ranking_rps.py
