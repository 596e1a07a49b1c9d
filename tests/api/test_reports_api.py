"""The reports API: score results, certified reports (issue, poll, download), published
rankings and the public verification of a report."""

from __future__ import annotations

import datetime
import hashlib
import uuid
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django import Settings
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks
from rest_framework.test import APIClient

from accounts.models import Organisation, User
from assessments.models import Assessment, Campaign, Cloud
from reports.models import Ranking, Report, ScoreResult
from reports.scoring import results
from reports.scoring.selectors import score_result_current
from tests.api.conftest import token_client
from tests.reports.certified.fixtures import *  # noqa: F403  (approved, issued, signing_key, …)
from tests.reports.certified.fixtures import approve
from tests.reports.certified.pdf_variants import flip_signed_byte
from tests.reports.rankings.test_rankings import (  # noqa: F401  (fixtures)
    add_cloud,
    filled,
    make_campaign,
    publish,
    year_campaign,
)

API = "/api/v1"


@pytest.fixture(autouse=True)
def _own_cache(settings: Settings) -> Iterator[None]:
    """A cache of this test's own: the verification rate limit counts in it."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"reports-api-{uuid.uuid4().hex}",
        }
    }
    yield
    cache.clear()


def stored_bytes(report: Report) -> bytes:
    with report.file.open("rb") as handle:
        return handle.read()


def streamed(response: object) -> bytes:
    return b"".join(getattr(response, "streaming_content"))  # noqa: B009


def count_queries(client: APIClient, url: str) -> int:
    assert client.get(url).status_code == 200  # the token's "last used" is written once
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries)


# ----------------------------------------------------------------------------------------------
# Score results


def test_the_score_of_a_scored_assessment_with_its_dimensions_indicators_and_hash(
    scored: Assessment, admin: User, vendor: User
) -> None:
    results.assessment_score(assessment_id=scored.pk)  # what the queued task does
    result = score_result_current(assessment=scored)
    assert result is not None
    response = token_client(admin).get(f"{API}/assessments/{scored.pk}/score/")
    assert response.status_code == 200
    body = response.json()
    assert body["assessment"] == scored.pk
    assert body["total"] == str(result.total)
    assert body["inputs_sha256"] == result.inputs_sha256
    assert body["version"] == result.version
    assert body["level"] == (
        {k: result.breakdown["level"][k] for k in ("code", "name_zh", "name_en")}
        if result.breakdown["level"]
        else None
    )
    indicators = scored.campaign.framework.indicators.count()
    assert len(body["indicators"]) == indicators
    assert {d["code"] for d in body["dimensions"]} == {
        d["code"] for d in result.breakdown["dimensions"]
    }
    assert all(i["dimension"] for i in body["indicators"])
    # The vendor reads it once the assessment is approved, like the page.
    client = token_client(vendor)
    assert client.get(f"{API}/assessments/{scored.pk}/score/").status_code == 404
    approve(scored, admin)
    assert client.get(f"{API}/assessments/{scored.pk}/score/").json()["total"] == body["total"]


def test_no_score_yet_is_404(assessment: Assessment, admin: User) -> None:
    response = token_client(admin).get(f"{API}/assessments/{assessment.pk}/score/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# ----------------------------------------------------------------------------------------------
# Certified reports: issue, poll, download


def test_issue_then_poll_until_ready_then_download_the_signed_pdf(
    approved: Assessment,
    admin: User,
    settings: Settings,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False  # queued as for a worker; Celery runs it eagerly
    client = token_client(admin)
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(
            f"{API}/assessments/{approved.pk}/reports/", {"language": "zh-hans"}, format="json"
        )
    assert response.status_code == 201, response.content
    issued = response.json()
    assert issued["state"] == "pending" and issued["status"] == "issued"
    assert issued["download_url"] is None and issued["sha256"] is None
    assert response["Location"] == f"{API}/reports/{issued['id']}/"
    report = Report.objects.get(pk=issued["id"])
    assert issued["number"] == report.number and issued["assessment"] == approved.pk

    # Not rendered yet: the download is a conflict, in JSON whatever was accepted.
    early = client.get(f"{API}/reports/{report.pk}/download/", HTTP_ACCEPT="application/pdf")
    assert early.status_code == 409
    assert early["Content-Type"].startswith("application/json")
    assert early.json()["code"] == "not_ready" and early.json()["message"]

    for callback in queued:  # the rendering queued at the commit (eager Celery: in-process)
        callback()
    for _ in range(5):
        polled = client.get(f"{API}/reports/{report.pk}/").json()
        if polled["state"] in ("ready", "failed"):
            break
    assert polled["state"] == "ready"
    report.refresh_from_db()
    assert polled["sha256"] == report.sha256 and polled["size"] == report.size
    assert polled["download_url"].endswith(f"{API}/reports/{report.pk}/download/")
    assert polled["verification_url"].endswith(f"/verify/{report.verification_code}/")

    for accept in ("application/pdf", "*/*"):
        download = client.get(f"{API}/reports/{report.pk}/download/", HTTP_ACCEPT=accept)
        assert download.status_code == 200
        assert download["Content-Type"] == "application/pdf"
        data = streamed(download)
        assert data == stored_bytes(report)
        assert hashlib.sha256(data).hexdigest() == report.sha256


def test_a_second_report_in_the_same_language_is_refused_by_the_service(
    issued: Report, admin: User
) -> None:
    response = token_client(admin).post(
        f"{API}/assessments/{issued.assessment_id}/reports/", {"language": "zh-hans"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert Report.objects.filter(assessment_id=issued.assessment_id).count() == 1


def test_reports_are_listed_and_filtered(issued: Report, vendor: User, owner: User) -> None:
    for user in (vendor, owner):
        client = token_client(user)
        body = client.get(f"{API}/reports/").json()
        assert [r["number"] for r in body["results"]] == [issued.number]
        assert body["results"][0]["valid_until"] == issued.content["valid_until"]
        assert client.get(f"{API}/reports/", {"state": "failed"}).json()["count"] == 0
        assert client.get(f"{API}/reports/", {"year": issued.year}).json()["count"] == 1
        campaign = issued.assessment.campaign_id
        assert client.get(f"{API}/reports/", {"campaign": campaign}).json()["count"] == 1
        assert client.get(f"{API}/reports/", {"status": "revoked"}).json()["count"] == 0


def _bulk_reports(campaign: Campaign, vendor_org: Organisation, size: int) -> None:
    """``size`` approved assessments of the vendor's clouds, each with a score and a ready
    report (rows only: the issuing is tested above)."""
    government = Organisation.objects.create(
        name=f"主管单位 {size}", kind=Organisation.Kind.GOVERNMENT, division_code="370100"
    )
    clouds = Cloud.objects.bulk_create(
        Cloud(name=f"云 {size}-{n:04d}", owner=government, level=Cloud.Level.MUNICIPAL)
        for n in range(size)
    )
    Cloud.vendors.through.objects.bulk_create(
        Cloud.vendors.through(cloud_id=c.pk, organisation_id=vendor_org.pk) for c in clouds
    )
    assessments = Assessment.objects.bulk_create(
        Assessment(campaign=campaign, cloud=c, state=Assessment.State.APPROVED) for c in clouds
    )
    now = timezone.now()
    results = ScoreResult.objects.bulk_create(
        ScoreResult(
            assessment=a,
            version=1,
            inputs_sha256=f"{a.pk:064d}",
            framework=campaign.framework,
            method="1",
            total="80.00",
            level_code="advanced",
            breakdown={},
            current_since=now,
        )
        for a in assessments
    )
    start = Report.objects.count() + 1000 * size
    Report.objects.bulk_create(
        Report(
            number=f"T-{start + n}",
            year=2026,
            sequence=start + n,
            verification_code=f"V{start + n:023d}",
            assessment=a,
            score_result=r,
            content={"valid_until": "2028-06-30"},
            state=Report.State.READY,
            file=f"reports/2026/T-{start + n}.pdf",
            sha256="a" * 64,
            size=100,
            issued_at=now - datetime.timedelta(minutes=n),
            supersedes=None,
        )
        for n, (a, r) in enumerate(zip(assessments, results, strict=True))
    )


def test_the_report_list_costs_the_same_queries_for_10_and_400_reports(
    campaign: Campaign, vendor_org: Organisation, vendor: User, admin: User
) -> None:
    clients = {"admin": token_client(admin), "vendor": token_client(vendor)}
    _bulk_reports(campaign, vendor_org, 10)
    small = {name: count_queries(c, f"{API}/reports/?page_size=200") for name, c in clients.items()}
    _bulk_reports(campaign, vendor_org, 390)
    assert Report.objects.count() == 400
    large = {name: count_queries(c, f"{API}/reports/?page_size=200") for name, c in clients.items()}
    assert small == large
    assert clients["vendor"].get(f"{API}/reports/").json()["count"] == 400


# ----------------------------------------------------------------------------------------------
# Rankings (public)


def test_rankings_are_public_and_a_list_without_scores_shows_none(
    filled: Campaign,  # noqa: F811
    admin: User,
    comprehensive: object,
) -> None:
    hidden = publish(filled, admin)  # the default public form: grouped, scores hidden
    assert hidden.public_form == Ranking.PublicForm.GROUPED
    last_year = make_campaign(admin, filled.framework, 2025)
    for n, total in enumerate(["93.00", "90.00", "88.00"]):
        add_cloud(last_year, f"去年省级云{n}", total=total, level="excellent")
    shown = publish(last_year, admin, public_form=Ranking.PublicForm.RANKED)

    anonymous = token_client(None)
    listing = anonymous.get(f"{API}/rankings/")
    assert listing.status_code == 200
    rows = {(r["year"], r["slug"]): r for r in listing.json()["results"]}
    assert set(rows) == {(2026, hidden.slug), (2025, shown.slug)}
    assert rows[(2026, hidden.slug)]["scores_shown"] is False
    assert rows[(2025, shown.slug)]["scores_shown"] is True
    assert hidden.snapshot is not None
    assert rows[(2026, hidden.slug)]["listed"] == hidden.snapshot["listed"]
    assert rows[(2026, hidden.slug)]["title"] == hidden.snapshot["title"]
    assert anonymous.get(f"{API}/rankings/", {"year": 2025}).json()["count"] == 1

    body = anonymous.get(rows[(2026, hidden.slug)]["url"]).json()
    entries = [e for pool in body["pools"] for e in pool["entries"]]
    assert entries and body["scores_shown"] is False
    for entry in entries:
        assert entry["position"] is None and entry["total"] is None
        assert entry["verification_code"] is None and entry["tied"] is False
        assert all(d["share"] is None and d["points"] is None for d in entry["dimensions"])
    for total in ("95.00", "91.50", "90.00"):
        assert total not in str(body)

    ranked = anonymous.get(f"{API}/rankings/2025/{shown.slug}/").json()
    positions = [e["position"] for pool in ranked["pools"] for e in pool["entries"]]
    assert positions == [1, 2, 3]
    assert [e["total"] for p in ranked["pools"] for e in p["entries"]] == [
        "93.00",
        "90.00",
        "88.00",
    ]
    assert ranked["versions"] == [1] and ranked["is_latest"] is True
    version = anonymous.get(f"{API}/rankings/2025/{shown.slug}/versions/1/")
    assert version.status_code == 200 and version.json()["snapshot_sha256"] == shown.snapshot_sha256
    assert anonymous.get(f"{API}/rankings/2025/{shown.slug}/versions/9/").status_code == 404
    assert anonymous.get(f"{API}/rankings/2024/{shown.slug}/").status_code == 404


def _bulk_rankings(campaign: Campaign, size: int, offset: int) -> None:
    now = timezone.now()
    Ranking.objects.bulk_create(
        Ranking(
            campaign=campaign,
            kind=Ranking.Kind.TOP_TEN,
            year=campaign.year,
            slug=f"list-{offset + n}",
            state=Ranking.State.FINAL,
            version=1,
            snapshot={"format": 2, "title": f"名单 {offset + n}", "title_en": "", "listed": 3},
            snapshot_sha256="b" * 64,
            published_at=now,
        )
        for n in range(size)
    )


def test_the_ranking_list_costs_the_same_queries_for_10_and_400_rankings(
    campaign: Campaign,
) -> None:
    anonymous = token_client(None)
    _bulk_rankings(campaign, 10, 0)
    small = count_queries(anonymous, f"{API}/rankings/?page_size=200")
    _bulk_rankings(campaign, 390, 10)
    large = count_queries(anonymous, f"{API}/rankings/?page_size=200")
    assert small == large
    assert anonymous.get(f"{API}/rankings/").json()["count"] == 400


# ----------------------------------------------------------------------------------------------
# Verification (public)


def verify_post(report: Report, name: str, data: bytes, content_type: str) -> dict[str, object]:
    response = token_client(None).post(
        f"{API}/verify/{report.verification_code}/",
        {"file": SimpleUploadedFile(name, data, content_type)},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    body: dict[str, object] = response.json()
    return body


def test_anyone_verifies_a_report_by_its_code(issued: Report) -> None:
    client = token_client(None)
    response = client.get(f"{API}/verify/{issued.verification_code}/")
    assert response.status_code == 200
    body = response.json()
    assert body["number"] == issued.number and body["validity"] == "valid"
    assert body["sha256"] == issued.sha256 and body["file_ready"] is True
    assert body["cloud"] == issued.content["cloud"]["name"]
    level = issued.content["breakdown"]["level"]
    assert body["level"] == (
        {k: level[k] for k in ("code", "name_zh", "name_en")} if level else None
    )
    # As typed by a person: lower case, in groups.
    typed = issued.verification_code_display.lower()
    assert client.get(f"{API}/verify/{typed}/").json()["number"] == issued.number
    unknown = client.get(f"{API}/verify/AAAAAAAAAAAAAAAAAAAAAAAA/")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"


def test_the_issued_pdf_is_genuine_a_changed_one_modified_and_other_files_not_pdf(
    issued: Report,
) -> None:
    pdf = stored_bytes(issued)
    genuine = verify_post(issued, f"{issued.number}.pdf", pdf, "application/pdf")
    assert genuine["verdict"] == "identical" and genuine["matches"] is True
    assert genuine["signer"]
    modified = verify_post(issued, "changed.pdf", flip_signed_byte(pdf), "application/pdf")
    assert modified["verdict"] == "modified" and modified["matches"] is False
    assert modified["modification"] == "signed_bytes"
    assert modified["uploaded_sha256"] == hashlib.sha256(flip_signed_byte(pdf)).hexdigest()
    other = verify_post(issued, "notes.txt", b"just some text", "text/plain")
    assert other["verdict"] == "not_pdf" and other["signer"] is None


def test_a_post_without_a_file_is_a_400(issued: Report) -> None:
    response = token_client(None).post(
        f"{API}/verify/{issued.verification_code}/", {}, format="multipart"
    )
    assert response.status_code == 400
    assert "file" in response.json()["fields"]


def test_verification_shares_the_pages_rate_limit(issued: Report, settings: Settings) -> None:
    settings.VERIFY_RATE_LIMIT = 3
    client = token_client(None)
    url = f"{API}/verify/{issued.verification_code}/"
    statuses = [client.get(url).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get(url)
    assert limited.status_code == 429 and limited.json()["code"] == "throttled"
    assert int(limited["Retry-After"]) > 0
    # The page counts against the same limit.
    assert client.get(f"/verify/{issued.verification_code}/").status_code == 429


def test_a_file_larger_than_the_pages_limit_is_refused(
    issued: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reports.certified import selectors

    monkeypatch.setattr(selectors, "UPLOAD_MAX_BYTES", 1000)
    client = token_client(None)
    url = f"{API}/verify/{issued.verification_code}/"
    # Counted while it arrives (the declared length is within the form's slack).
    counted = b"%PDF-1.7\n" + b"0" * 20_000
    response = client.post(
        url, {"file": SimpleUploadedFile("big.pdf", counted, "application/pdf")}, format="multipart"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    # Refused from the declared length, unread (``max_body``, as the page).
    declared = b"%PDF-1.7\n" + b"0" * 200_000
    response = client.post(
        url,
        {"file": SimpleUploadedFile("big.pdf", declared, "application/pdf")},
        format="multipart",
    )
    assert response.status_code == 413
