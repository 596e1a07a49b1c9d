from __future__ import annotations

import pytest
from django.test import Client
from pytest_django import Settings

from govcloud_eval import health


@pytest.mark.django_db
def test_healthz_reports_every_dependency_ok_on_a_complete_machine(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["missing"] == []
    assert body["checks"]["database"] == {"ok": True, "detail": "postgresql"}
    assert body["checks"]["broker"] == {"ok": True, "detail": "redis"}
    assert body["checks"]["pdf_subsetting"] == {"ok": True, "detail": "harfbuzz"}
    assert "Noto Sans CJK SC" in body["checks"]["cjk_font"]["detail"]


@pytest.mark.django_db
def test_healthz_says_harfbuzz_subsetting_is_missing_with_503(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weasyprint.text import ffi

    # What WeasyPrint's own loader leaves behind when libharfbuzz-subset0 is not installed.
    monkeypatch.setattr(ffi, "harfbuzz_subset", None)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["missing"] == ["pdf_subsetting"]
    assert "libharfbuzz-subset0" in body["checks"]["pdf_subsetting"]["detail"]


@pytest.mark.django_db
def test_healthz_reports_eager_when_no_broker_is_configured(
    client: Client, settings: Settings
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True

    body = client.get("/healthz").json()

    assert body["checks"]["broker"] == {"ok": True, "detail": "eager"}


@pytest.mark.django_db
def test_healthz_reports_an_unreachable_broker(client: Client, settings: Settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["missing"] == ["broker"]


def test_missing_cjk_fonts_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    class Done:
        stdout = "DejaVu Sans\n"

    monkeypatch.setattr(health.subprocess, "run", lambda *a, **k: Done())

    check = health.check_cjk_font()

    assert check["ok"] is False
    assert "fonts-noto-cjk" in check["detail"]
