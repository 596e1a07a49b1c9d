"""Every page refuses a body larger than it accepts from the length the request declares, before
anything reads it: before the CSRF check (which would parse the form and spool its files), before
the view, whoever asks. The upload pages accept their files' limits; every other page Django's
bound for a form held in memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import resolve, reverse
from django.utils import translation
from pytest_django import Settings

from govcloud_eval.limits import SLACK, RequestSizeLimitMiddleware, default_max_body

MIB = 1024 * 1024
CODE = "A" * 24

# Each upload page and what it accepts (the limits' own settings and constants, as tests set
# them below), then pages that take no files.
UPLOADS = [
    ("assessments:evidence_upload", {"pk": 1, "indicator_id": 1}, 3 * MIB),  # EVIDENCE_MAX_BYTES
    ("certified:verify", {"code": CODE}, 50 * MIB),
    ("rankings:objections", {"year": 2026, "slug": "top-ten"}, 20 * MIB),
    ("assessments:cloud_import", {}, 5 * MIB),
]
FORMS = [
    ("indicators:framework_upload", {}),
    ("assessments:score_sheet_upload", {"pk": 1}),
    ("assessments:campaign_create", {}),
    ("accounts:login", {}),
]


@pytest.fixture(autouse=True)
def spool(settings: Settings, tmp_path: Path) -> Path:
    settings.EVIDENCE_MAX_BYTES = 3 * MIB
    folder = tmp_path / "spool"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


def _post(url: str, declared: int, **headers: str) -> Any:
    """A multipart POST of a few bytes that declares ``declared``, with no CSRF token, from
    a reader of the English pages."""
    client = Client(enforce_csrf_checks=True)
    client.cookies["django_language"] = "en"
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.pdf"\r\n\r\n%PDF-1.7'
    with translation.override("en"):
        return client.generic(
            "POST",
            url,
            body,
            content_type="multipart/form-data; boundary=b",
            CONTENT_LENGTH=str(declared),
            headers=headers,
        )


def _judged(url: str, declared: int) -> HttpResponse | None:
    """What the middleware answers before the view, for a POST to ``url`` declaring
    ``declared`` bytes: None when it lets the request through."""
    request = RequestFactory().post(url, CONTENT_LENGTH=str(declared))
    middleware = RequestSizeLimitMiddleware(lambda r: HttpResponse())
    with translation.override("en"):
        return middleware.process_view(request, resolve(url).func, (), {})


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "kwargs", "limit"), UPLOADS)
def test_an_upload_page_refuses_a_body_over_its_limit_before_csrf_and_nothing_is_spooled(
    name: str, kwargs: dict[str, object], limit: int, spool: Path
) -> None:
    url = reverse(name, kwargs=kwargs)

    refused = _post(url, limit + SLACK + 1)  # no CSRF token: the size is judged first

    assert refused.status_code == 413
    assert b"larger than this page accepts" in refused.content
    assert list(spool.iterdir()) == []
    assert _judged(url, limit + SLACK) is None  # its limit, to the byte


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "kwargs"), FORMS)
def test_a_page_without_files_takes_what_a_form_needs_and_no_more(
    name: str, kwargs: dict[str, object], spool: Path
) -> None:
    url = reverse(name, kwargs=kwargs)
    limit = default_max_body()

    assert _post(url, 200 * MIB).status_code == 413
    assert _judged(url, limit + SLACK) is None
    refused = _judged(url, limit + SLACK + 1)
    assert refused is not None and refused.status_code == 413
    assert list(spool.iterdir()) == []


@pytest.mark.django_db
def test_the_pages_scripts_get_the_refusal_as_json() -> None:
    url = reverse("assessments:evidence_upload", kwargs={"pk": 1, "indicator_id": 1})
    response = _post(url, 4 * 1024 * MIB, **{"X-Requested-With": "XMLHttpRequest"})
    assert response.status_code == 413
    (message,) = response.json()["errors"]
    assert message == "The request is larger than this page accepts (at most 3.0\xa0MB)."
    assert response["Connection"] == "close"  # not read: the connection is not reused
