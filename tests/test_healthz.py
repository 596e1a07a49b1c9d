"""/healthz: everything the portal needs, 503 naming what is missing. Anyone learns whether each
check passed; only admins read the details (versions, hosts, paths, error texts)."""

from __future__ import annotations

import http.server
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.test import Client
from pytest_django import Settings

from accounts.models import User
from govcloud_eval import health
from tests.conftest import client_for

CHECKS = ["database", "broker", "queue", "storage", "pdf_subsetting", "cjk_font"]


@pytest.fixture
def media(settings: Settings, tmp_path: Path) -> Path:
    """Files on the local filesystem, in a directory of the test's own."""
    root = tmp_path / "media"
    root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    settings.MEDIA_ROOT = str(root)
    return root


@pytest.fixture
def queue(settings: Settings) -> Iterator[str]:
    """A default queue of the test's own in the suite's Redis, deleted afterwards."""
    name = f"gce-healthz-{uuid.uuid4().hex[:8]}"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_TASK_DEFAULT_QUEUE = name
    yield name
    with redis.Redis.from_url(settings.REDIS_URL) as client:
        client.delete(*(name + suffix for suffix in health._PRIORITY_SUFFIXES))


@pytest.fixture
def admin_client(admin: User) -> Client:
    return client_for(admin)


# ----------------------------------------------------------------------------------------------
# What each caller sees


@pytest.mark.django_db
def test_an_admin_reads_every_dependency_ok_on_a_complete_machine(
    admin_client: Client, media: Path, queue: str
) -> None:
    response = admin_client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["missing"] == []
    checks = body["checks"]
    assert list(checks) == CHECKS
    assert checks["database"] == {"ok": True, "detail": "postgresql"}
    assert checks["broker"] == {"ok": True, "detail": "redis"}
    assert checks["queue"] == {"ok": True, "detail": f"0 tasks waiting in {queue} (at most 1000)"}
    assert checks["storage"] == {"ok": True, "detail": f"filesystem: {media}"}
    assert checks["pdf_subsetting"] == {"ok": True, "detail": "harfbuzz"}
    assert "Noto Sans CJK SC" in checks["cjk_font"]["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "vendor", "auditor"])
def test_others_learn_only_whether_each_check_passed(
    who: str, request: pytest.FixtureRequest, media: Path, queue: str
) -> None:
    user = None if who == "anonymous" else request.getfixturevalue(who)

    response = client_for(user).get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "missing": [],
        "checks": {name: {"ok": True} for name in CHECKS},
    }


@pytest.mark.django_db
def test_a_failing_check_names_itself_to_anyone_but_explains_itself_only_to_admins(
    client: Client, admin_client: Client, settings: Settings, media: Path
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    public, full = client.get("/healthz"), admin_client.get("/healthz")

    assert public.status_code == full.status_code == 503
    assert public.json()["missing"] == full.json()["missing"] == ["broker", "queue"]
    assert public.json()["checks"]["broker"] == {"ok": False}
    assert "127.0.0.1:1" not in public.content.decode() and "detail" not in public.json()
    assert "127.0.0.1:1" in full.json()["checks"]["broker"]["detail"]


@pytest.mark.django_db
def test_no_details_are_shown_when_the_signed_in_user_cannot_be_read(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch, media: Path
) -> None:
    from django.db import OperationalError

    from accounts import policy

    def database_down(*args: object) -> bool:
        raise OperationalError("the database is down")

    monkeypatch.setattr(policy, "can", database_down)

    response = admin_client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["checks"]["database"] == {"ok": True}


# ----------------------------------------------------------------------------------------------
# The checks


@pytest.mark.django_db
def test_healthz_says_harfbuzz_subsetting_is_missing_with_503(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch, media: Path
) -> None:
    from weasyprint.text import ffi

    # What WeasyPrint's own loader leaves behind when libharfbuzz-subset0 is not installed.
    monkeypatch.setattr(ffi, "harfbuzz_subset", None)

    response = admin_client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["missing"] == ["pdf_subsetting"]
    assert "libharfbuzz-subset0" in body["checks"]["pdf_subsetting"]["detail"]


@pytest.mark.django_db
def test_healthz_reports_eager_when_no_broker_is_configured(
    admin_client: Client, settings: Settings, media: Path
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True

    checks = admin_client.get("/healthz").json()["checks"]

    assert checks["broker"] == {"ok": True, "detail": "eager"}
    assert checks["queue"] == {"ok": True, "detail": "eager"}


def _enqueue(settings: Settings, queue: str, count: int, priority_list: str = "") -> None:
    with redis.Redis.from_url(settings.REDIS_URL) as client:
        client.lpush(queue + priority_list, *[b"{}"] * count)


@pytest.mark.django_db
def test_the_queue_fails_when_more_tasks_wait_than_the_threshold(
    admin_client: Client, settings: Settings, media: Path, queue: str
) -> None:
    settings.HEALTHZ_QUEUE_MAX = 3
    _enqueue(settings, queue, 2)
    _enqueue(settings, queue, 1, health._PRIORITY_SUFFIXES[1])  # a task sent with a priority

    assert admin_client.get("/healthz").status_code == 200

    _enqueue(settings, queue, 1)
    response = admin_client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["missing"] == ["queue"]
    assert response.json()["checks"]["queue"] == {
        "ok": False,
        "detail": f"4 tasks waiting in {queue} (at most 3)",
    }


def test_a_missing_media_root_is_named(settings: Settings, media: Path) -> None:
    settings.MEDIA_ROOT = str(media / "absent")

    check = health.check_storage()

    assert check["ok"] is False
    assert (
        check["detail"]
        == f"filesystem: {media / 'absent'} does not exist; create it or set MEDIA_ROOT"
    )


def test_a_read_only_media_root_is_named(media: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(**kwargs: object) -> object:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(health.tempfile, "NamedTemporaryFile", read_only)

    check = health.check_storage()

    assert check["ok"] is False
    assert "is not writable" in check["detail"] and "Read-only" in check["detail"]


def test_the_writability_probe_leaves_nothing_behind(media: Path) -> None:
    assert health.check_storage()["ok"] is True
    assert list(media.iterdir()) == []


def test_missing_cjk_fonts_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    class Done:
        stdout = "DejaVu Sans\n"

    monkeypatch.setattr(health.subprocess, "run", lambda *a, **k: Done())

    check = health.check_cjk_font()

    assert check["ok"] is False
    assert "fonts-noto-cjk" in check["detail"]


# ----------------------------------------------------------------------------------------------
# Object storage in an S3 bucket, against a stand-in S3 endpoint on this machine


class _S3StandInServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # (HTTP status, seconds to wait before answering)
    answer: tuple[int, float] = (200, 0.0)


class _S3StandIn(http.server.BaseHTTPRequestHandler):
    """Answers ``HEAD /<bucket>`` as its server's ``answer`` says."""

    def do_HEAD(self) -> None:
        assert isinstance(self.server, _S3StandInServer)
        status, delay = self.server.answer
        time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def s3_endpoint() -> Iterator[Callable[[int, float], str]]:
    """``answer(status, delay)`` → the URL of an endpoint that answers so."""
    server = _S3StandInServer(("127.0.0.1", 0), _S3StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def answer(status: int, delay: float = 0) -> str:
        server.answer = (status, delay)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield answer
    server.shutdown()
    server.server_close()


def _s3_storage(settings: Settings, endpoint: str) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "gce-health",
                "endpoint_url": endpoint,
                "access_key": "health",
                "secret_key": "health-secret",
                "region_name": "us-east-1",
            },
        },
    }


def test_an_s3_bucket_that_answers_is_ok(
    settings: Settings, s3_endpoint: Callable[[int, float], str]
) -> None:
    endpoint = s3_endpoint(200, 0)
    _s3_storage(settings, endpoint)

    assert health.check_storage() == {"ok": True, "detail": f"s3: bucket gce-health at {endpoint}"}


def test_a_missing_bucket_is_named(
    settings: Settings, s3_endpoint: Callable[[int, float], str]
) -> None:
    _s3_storage(settings, s3_endpoint(404, 0))

    check = health.check_storage()

    assert check["ok"] is False
    assert "gce-health" in check["detail"] and "404" in check["detail"]


def test_an_unreachable_or_silent_bucket_fails_within_the_timeout(
    settings: Settings, s3_endpoint: Callable[[int, float], str]
) -> None:
    for endpoint in ("http://127.0.0.1:1", s3_endpoint(200, health.TIMEOUT_SECONDS + 5)):
        _s3_storage(settings, endpoint)
        started = time.monotonic()

        check = health.check_storage()

        assert check["ok"] is False, endpoint
        assert time.monotonic() - started < health.TIMEOUT_SECONDS + 2, endpoint


@pytest.mark.django_db
def test_anonymous_callers_learn_nothing_of_the_bucket(
    client: Client, settings: Settings, s3_endpoint: Callable[[int, float], str]
) -> None:
    _s3_storage(settings, s3_endpoint(403, 0))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["missing"] == ["storage"]
    assert response.json()["checks"]["storage"] == {"ok": False}
    assert "gce-health" not in response.content.decode()
