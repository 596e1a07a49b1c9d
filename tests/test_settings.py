from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_the_suite_runs_on_postgresql() -> None:
    assert connection.vendor == "postgresql", (
        "The suite must run on PostgreSQL: use `make test`, which sets DATABASE_URL."
    )


def test_chinese_is_the_default_language_and_shanghai_the_time_zone() -> None:
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert [code for code, _ in settings.LANGUAGES] == ["zh-hans", "en"]


# Every variable the settings check; the subprocesses below start without any of them.
CHECKED = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "PUBLIC_BASE_URL",
    "PUBLIC_BASE_URL_ALLOW_HTTP",
    "CELERY_TASK_TIME_LIMIT",
    "CELERY_VISIBILITY_TIMEOUT",
    "CONN_MAX_AGE",
    "CONN_HEALTH_CHECKS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "TRUSTED_PROXY_COUNT",
)
# A complete production environment (nothing connects while settings load).
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": "eval.example.gov.cn",
    "DATABASE_URL": "postgres://gce:db-secret@db.example.gov.cn:5432/gce",
    "REDIS_URL": "redis://redis.example.gov.cn:6379/0",
    "PUBLIC_BASE_URL": "https://eval.example.gov.cn",
}


def _environment(**env: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in CHECKED}
    return {**clean, "DJANGO_SETTINGS_MODULE": "govcloud_eval.settings", **env}


def _load_settings(*show: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Loads the settings in a fresh process with ``env``; prints ``loaded``, then the value of
    each expression of ``show`` (on the settings, ``s``), one a line."""
    code = "import django; django.setup(); from django.conf import settings as s; print('loaded')"
    code += "".join(f"; print({expression})" for expression in show)
    return subprocess.run(
        [sys.executable, "-c", code],
        env=_environment(**env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _production(**changes: str | None) -> dict[str, str]:
    """The complete production environment with ``changes``: a value replaces, None removes."""
    env = {**PRODUCTION, **{k: v for k, v in changes.items() if v is not None}}
    return {k: v for k, v in env.items() if changes.get(k, "") is not None}


def _named(output: str) -> list[str]:
    """The variables a refusal names: the first word of each of its ``- `` lines."""
    return [line[2:].split()[0] for line in output.splitlines() if line.startswith("- ")]


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = _load_settings(DEBUG="false")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_complete_production_environment_starts() -> None:
    result = _load_settings("s.PUBLIC_BASE_URL", "s.CELERY_TASK_ALWAYS_EAGER", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["loaded", "https://eval.example.gov.cn", "False"]


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("SECRET_KEY", None, "long random value"),
        ("ALLOWED_HOSTS", None, "host names"),
        ("DATABASE_URL", None, "it is not set"),
        ("DATABASE_URL", "sqlite:////srv/gce/db.sqlite3", "it is a sqlite URL"),
        ("DATABASE_URL", "mysql://gce:db-secret@db.example.gov.cn/gce", "it is a mysql URL"),
        ("REDIS_URL", None, "tasks would run inside the web process"),
        ("PUBLIC_BASE_URL", None, "https://"),
        ("PUBLIC_BASE_URL", "http://eval.example.gov.cn", "PUBLIC_BASE_URL_ALLOW_HTTP=true"),
        ("PUBLIC_BASE_URL", "https://eval.example.gov.cn/?lang=en", "without user, query"),
        ("PUBLIC_BASE_URL", "https://eval.example.gov.cn/#verify", "fragment"),
        ("PUBLIC_BASE_URL", "eval.example.gov.cn", "origin"),
        ("CELERY_VISIBILITY_TIMEOUT", "600", "greater than CELERY_TASK_TIME_LIMIT (600 s"),
    ],
)
def test_production_refuses_to_start_naming_the_variable_at_fault(
    variable: str, value: str | None, says: str
) -> None:
    result = _load_settings(**_production(**{variable: value}))

    assert result.returncode != 0
    assert "ImproperlyConfigured: Refusing to start: 1 environment variable(s)" in result.stderr
    assert _named(result.stderr) == [variable], result.stderr
    assert says in result.stderr
    assert "db-secret" not in result.stderr  # a refused database URL is not echoed


def test_every_fault_is_named_at_once_with_what_to_set() -> None:
    result = _load_settings(DEBUG="false")

    assert result.returncode != 0
    assert _named(result.stderr) == [
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "PUBLIC_BASE_URL",
        "REDIS_URL",
    ]
    assert "postgres://user:password@host:5432/name" in result.stderr
    assert "e.g. https://eval.example.gov.cn" in result.stderr


def test_plain_http_is_accepted_when_allowed_explicitly_and_a_trailing_slash_is_dropped() -> None:
    env = _production(
        PUBLIC_BASE_URL="http://10.1.2.3:8000/eval/", PUBLIC_BASE_URL_ALLOW_HTTP="true"
    )

    result = _load_settings("s.PUBLIC_BASE_URL", **env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["loaded", "http://10.1.2.3:8000/eval"]


def test_development_keeps_its_safe_defaults() -> None:
    result = _load_settings(
        "s.PUBLIC_BASE_URL", "s.CELERY_TASK_ALWAYS_EAGER", "s.DATABASES['default']['ENGINE']"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "loaded",
        "http://127.0.0.1:8000",
        "True",
        "django.db.backends.sqlite3",
    ]


def test_production_keeps_database_connections_and_checks_them_before_reuse() -> None:
    shown = (
        "s.DATABASES['default']['CONN_MAX_AGE']",
        "s.DATABASES['default']['CONN_HEALTH_CHECKS']",
    )

    assert _load_settings(*shown, **PRODUCTION).stdout.split() == ["loaded", "60", "True"]
    assert _load_settings(*shown, **PRODUCTION, CONN_MAX_AGE="0").stdout.split() == [
        "loaded",
        "0",
        "True",
    ]
    # Development: one connection per request (runserver's threads would each keep one).
    assert _load_settings(*shown).stdout.split() == ["loaded", "0", "True"]


def test_the_visibility_timeout_defaults_to_the_time_limit_plus_300_and_is_configurable() -> None:
    shown = "s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout']"

    assert _load_settings(shown, CELERY_TASK_TIME_LIMIT="120").stdout.split() == ["loaded", "420"]
    assert _load_settings(
        shown, CELERY_TASK_TIME_LIMIT="120", CELERY_VISIBILITY_TIMEOUT="150"
    ).stdout.split() == ["loaded", "150"]
    # Refused in development too: it is about tasks running twice, not about secrets.
    refused = _load_settings(CELERY_TASK_TIME_LIMIT="120", CELERY_VISIBILITY_TIMEOUT="120")
    assert refused.returncode != 0
    assert _named(refused.stderr) == ["CELERY_VISIBILITY_TIMEOUT"]


HTTPS_SETTINGS = (
    "s.SECURE_SSL_REDIRECT",
    "s.SECURE_HSTS_SECONDS",
    "s.SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "s.SECURE_HSTS_PRELOAD",
    "s.SESSION_COOKIE_SECURE",
    "s.CSRF_COOKIE_SECURE",
    "s.SECURE_PROXY_SSL_HEADER",
)


def test_production_is_https_only_and_believes_no_client_that_claims_https() -> None:
    result = _load_settings(*HTTPS_SETTINGS, **PRODUCTION)

    assert result.returncode == 0, result.stderr
    # Redirect, HSTS for a year with subdomains, not preloaded, secure cookies, and no
    # X-Forwarded-Proto without a proxy: any client could send it.
    shown = dict(zip(HTTPS_SETTINGS, result.stdout.split()[1:], strict=True))
    assert shown == {
        "s.SECURE_SSL_REDIRECT": "True",
        "s.SECURE_HSTS_SECONDS": "31536000",
        "s.SECURE_HSTS_INCLUDE_SUBDOMAINS": "True",
        "s.SECURE_HSTS_PRELOAD": "False",
        "s.SESSION_COOKIE_SECURE": "True",
        "s.CSRF_COOKIE_SECURE": "True",
        "s.SECURE_PROXY_SSL_HEADER": "None",
    }


def test_the_proxy_header_is_believed_only_behind_configured_proxies() -> None:
    shown = "s.SECURE_PROXY_SSL_HEADER"

    assert _load_settings(shown, **PRODUCTION, TRUSTED_PROXY_COUNT="1").stdout.splitlines() == [
        "loaded",
        "('HTTP_X_FORWARDED_PROTO', 'https')",
    ]
    assert _load_settings(shown, **PRODUCTION, TRUSTED_PROXY_COUNT="0").stdout.splitlines() == [
        "loaded",
        "None",
    ]


def test_a_deployment_without_tls_turns_the_redirect_off_and_development_has_none() -> None:
    plain_http = _production(
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        SECURE_HSTS_SECONDS="0",
    )

    assert _load_settings(*HTTPS_SETTINGS[:2], **plain_http).stdout.split() == [
        "loaded",
        "False",
        "0",
    ]
    assert _load_settings(*HTTPS_SETTINGS[:2]).stdout.split() == ["loaded", "False", "0"]


def _check_deploy(**changes: str | None) -> tuple[int, str]:
    """``check --deploy`` with the production environment and ``changes``: a random secret key
    (Django judges its strength), the suite's reachable services (as for the refusals below),
    and none of the suite's own switches (the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE)."""
    env = _production(
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=os.environ.get("DATABASE_URL") or PRODUCTION["DATABASE_URL"],
        REDIS_URL=os.environ.get("REDIS_URL") or PRODUCTION["REDIS_URL"],
        **changes,
    )
    environment = _environment(**env)
    environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    argv = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    return _run_to_exit(argv, environment)


def test_check_deploy_reports_nothing_with_the_production_settings() -> None:
    status, output = _check_deploy()

    assert status == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNINGS" not in output and "ERRORS" not in output, output


def test_check_deploy_names_https_turned_off() -> None:
    status, output = _check_deploy(SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="0")

    assert status != 0
    assert "security.W008" in output and "security.W004" in output, output


def _run_to_exit(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Runs ``argv`` until it exits (at most 60 s, or the test fails: a refusing process must
    exit, not hang); returns its status and its output."""
    process = subprocess.Popen(
        argv,
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: a hanging one is killed with children
    )
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"{argv[:4]} did not exit within 60 s:\n{output[-4000:]}")
    return process.returncode, output


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([sys.executable, "manage.py", "check"], id="manage.py check"),
        pytest.param(
            [str(Path(sys.executable).parent / "gunicorn"), "govcloud_eval.wsgi", "--check-config"],
            id="gunicorn",
        ),
        pytest.param(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "govcloud_eval",
                "worker",
                "--pool=solo",
                # A queue of its own: were it to start, it would take no other test's tasks.
                f"--queues=gce-refused-{uuid.uuid4().hex[:8]}",
                "--loglevel=INFO",
            ],
            id="celery worker",
        ),
    ],
)
def test_the_server_and_the_worker_refuse_to_start_naming_the_variable(argv: list[str]) -> None:
    # Reachable services (the suite's own, when it has them): only the address is wrong.
    env = _production(
        DATABASE_URL=os.environ.get("DATABASE_URL") or PRODUCTION["DATABASE_URL"],
        REDIS_URL=os.environ.get("REDIS_URL") or PRODUCTION["REDIS_URL"],
        PUBLIC_BASE_URL="http://eval.example.gov.cn",
    )

    status, output = _run_to_exit(argv, _environment(**env))

    assert status != 0, output
    assert _named(output) == ["PUBLIC_BASE_URL"], output
    assert "PUBLIC_BASE_URL must start with https://" in output


def test_celery_runs_tasks_in_process_without_redis_url() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL)"
    )
    clean = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "govcloud_eval.settings"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.stdout.split() == ["True", "memory://"], result.stderr


def test_the_worker_redelivers_tasks_of_a_crashed_worker_before_their_time_limit_passes() -> None:
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert timeout > settings.CELERY_TASK_TIME_LIMIT
