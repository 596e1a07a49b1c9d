"""OSCAL assessment results: of an approved assessment (the page's download and the API) and of a
published ranking version. Every document is validated with compliance-trestle's OSCAL models."""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django import Settings
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks
from trestle.oscal.assessment_results import AssessmentResults

from accounts.models import User
from assessments import services as workflow
from assessments.models import Assessment, Assignment, Campaign, Cloud
from assessments.selectors import indicators_of
from indicators import oscal as catalog_oscal
from indicators.models import Framework, Indicator
from reports.models import Ranking, ScoreResult
from reports.oscal import results
from tests.api.conftest import token_client
from tests.conftest import client_for
from tests.reports.certified.fixtures import attach_evidence as attach
from tests.reports.conftest import answer_everything, rate_everything
from tests.reports.rankings.test_rankings import add_cloud, make_campaign, publish

SETTLED_CODE = "1.1"
EVIDENCE = {
    "1.2": [("可用性监测报告2025.pdf", b"%PDF-1.4 availability")],
    "2.1": [("安全等级保护测评报告.pdf", b"%PDF-1.4 protection level 3")],
}


@pytest.fixture(autouse=True)
def _own_cache(settings: Settings) -> Iterator[None]:
    """An in-process cache of this test's own: the ranking page caches its list."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"oscal-{uuid.uuid4().hex}",
        }
    }
    settings.PUBLIC_BASE_URL = "https://eval.example.gov.cn"
    yield


@pytest.fixture
def media(settings: Settings, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def graded(target: Assessment, code: str) -> Indicator:
    indicator = next(i for i in indicators_of(assessment=target) if i.code == code)
    assert not indicator.is_mandatory
    return indicator


def run_to_approval(
    target: Assessment,
    vendor: User,
    assigned: list[Assignment],
    admin: User,
    capture: DjangoCaptureOnCommitCallbacks,
    *,
    evidence: dict[str, list[tuple[str, bytes]]],
    disputed_code: str = SETTLED_CODE,
) -> Assessment:
    """The whole workflow, as the demo runs it: the vendor answers with evidence and submits;
    two assessors rate (disagreeing on one indicator, which the lead settles) and submit; the
    score is computed (the tasks run eagerly after each commit); the lead approves."""
    with capture(execute=True):
        answer_everything(target, vendor)
        for code, files in evidence.items():
            for name, data in files:
                attach(target, vendor, code, name, data)
        workflow.assessment_submit(assessment=target, acting_user=vendor)
        disputed = graded(target, disputed_code)
        for n, assignment in enumerate(assigned):
            rate_everything(assignment, rating=2 + n % 2)
            workflow.rating_save(
                assignment=assignment,
                indicator=disputed,
                rating=0 if n == 0 else 3,
                met=None,
                rationale=f"（测试）专家{n + 1}的依据。",
                acting_user=assignment.assessor,
            )
            workflow.assignment_submit(assignment=assignment, acting_user=assignment.assessor)
    with capture(execute=True):
        workflow.settlement_save(
            assessment=target,
            indicator=disputed,
            rating=2,
            reason="（测试）复核后取中间值。",
            acting_user=admin,
        )
    with capture(execute=True):
        workflow.assessment_approve(assessment=target, acting_user=admin)
    target.refresh_from_db()
    assert target.state == Assessment.State.APPROVED
    assert ScoreResult.objects.filter(assessment=target, is_current=True).exists()
    return target


@pytest.fixture
def approved(
    assessment: Assessment,  # noqa: F811
    vendor: User,
    assignments: list[Assignment],  # noqa: F811
    admin: User,
    media: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> Assessment:
    return run_to_approval(
        assessment,
        vendor,
        assignments,
        admin,
        django_capture_on_commit_callbacks,
        evidence=EVIDENCE,
    )


def validated(document: dict[str, Any]) -> AssessmentResults:
    """The document as compliance-trestle's OSCAL model reads it (raises if it is not valid)."""
    assert set(document) == {"assessment-results"}
    return AssessmentResults.model_validate(document["assessment-results"])


def props(items: list[Any] | None) -> dict[str, str]:
    return {p.name: p.value for p in items or []}


def download(user: User, target: Assessment) -> dict[str, Any]:
    response = client_for(user).get(reverse("oscal:assessment_results", args=[target.pk]))
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    found: dict[str, Any] = json.loads(response.content)
    return found


# ----------------------------------------------------------------------------------------------
# An approved assessment


def test_the_document_of_an_approved_assessment_is_valid_oscal(
    approved: Assessment,
    vendor: User,
    assignments: list[Assignment],  # noqa: F811
) -> None:
    document = validated(download(vendor, approved))
    (result,) = document.results
    indicators = indicators_of(assessment=approved)
    # One finding per indicator, in catalog order, each about a part of its control in the
    # framework version's OSCAL catalog export.
    assert result.findings is not None
    assert len(result.findings) == len(indicators)
    assert [f.target.target_id for f in result.findings] == [
        results.statement_id(i) for i in indicators
    ]
    catalog = catalog_oscal.framework_oscal(approved.campaign.framework)
    part_ids = {
        part["id"]
        for group in catalog["catalog"]["groups"]
        for control in group["controls"]
        for part in control.get("parts", [])
    }
    assert {f.target.target_id for f in result.findings} <= part_ids
    assert all(f.target.type.value == "statement-id" for f in result.findings)
    score = ScoreResult.objects.get(assessment=approved, is_current=True)
    points = {
        row["code"]: row["points"] for d in score.breakdown["dimensions"] for row in d["indicators"]
    }
    by_code = {props(f.props)["indicator"]: f for f in result.findings}
    for indicator in indicators:
        finding_props = props(by_code[indicator.code].props)
        if points[indicator.code] is not None:
            assert finding_props["points"] == points[indicator.code]
        if indicator.is_mandatory:
            assert finding_props["met"] == "true"
        else:
            assert "rating" in finding_props
    # The settled indicator: the lead's rating and reason; the assessors' rationales too.
    settled = by_code[SETTLED_CODE]
    assert props(settled.props)["rating"] == "2.00"
    assert props(settled.props)["settled"] == "true"
    assert "（测试）复核后取中间值。" in settled.description
    assert "（测试）专家1的依据。" in settled.description
    # The level and the total are properties of the result.
    result_props = props(result.props)
    assert result_props["total"] == str(score.total)
    assert result_props["level"] == score.level_code
    assert result.props is not None
    assert all(str(p.ns) == results.NS for p in result.props)
    # The evidence: one resource per file, with its SHA-256, cited by its indicator's finding.
    assert document.back_matter is not None and document.back_matter.resources is not None
    resources = {r.uuid: r for r in document.back_matter.resources}
    expected = {
        hashlib.sha256(data).hexdigest() for files in EVIDENCE.values() for _, data in files
    }
    hashes = set()
    for resource in resources.values():
        assert resource.rlinks is not None
        (rlink,) = resource.rlinks
        assert rlink.href.startswith("https://eval.example.gov.cn/evidence/")
        assert rlink.hashes is not None
        (digest,) = rlink.hashes
        assert str(getattr(digest.algorithm, "value", digest.algorithm)) == "SHA-256"
        hashes.add(digest.value)
    assert hashes == expected
    assert result.observations is not None
    cited = {
        e.href.removeprefix("#")
        for o in result.observations
        for e in (o.relevant_evidence or [])
        if e.href
    }
    assert cited == set(resources)
    evidence_finding = by_code["1.2"]
    assert evidence_finding.related_observations is not None
    # The assessors are parties, with the organisation they belong to, and hold their role.
    metadata = document.metadata
    assert metadata.parties is not None and metadata.responsible_parties is not None
    names = {p.name: p for p in metadata.parties}
    for assignment in assignments:
        person = names[str(assignment.assessor)]
        assert person.type == "person"
        assert assignment.assessor.organisation is not None
        (member_of,) = person.member_of_organizations or []
        assert names[assignment.assessor.organisation.name].uuid == member_of
    roles = {r.role_id: r.party_uuids for r in metadata.responsible_parties}
    assert len(roles["assessor"]) == len(assignments)
    assert set(roles) >= {"assessor", "approver", "assessment-lead", "cloud-owner"}
    # import-ap: the framework version's OSCAL catalog.
    framework = approved.campaign.framework
    assert document.import_ap.href == (
        f"https://eval.example.gov.cn/catalogs/{framework.code}/{framework.version}/oscal/"
    )


def test_the_document_is_stable(approved: Assessment, vendor: User, admin: User) -> None:
    """The same assessment gives the same document, identifiers included, whoever asks."""
    first = download(vendor, approved)
    assert download(admin, approved) == first
    assert uuid.UUID(first["assessment-results"]["uuid"]).version == 5


def test_the_api_answers_the_same_document(approved: Assessment, vendor: User) -> None:
    url = f"/api/v1/assessments/{approved.pk}/oscal/"
    assert url == reverse("reports_api:assessment_oscal", args=[approved.pk])
    response = token_client(vendor).get(url)
    assert response.status_code == 200, response.content[:300]
    validated(response.json())
    assert response.json() == download(vendor, approved)


def test_the_score_readers_only(
    approved: Assessment,
    outsider_vendor: User,
    owner: User,
    assessor: User,
    auditor: User,
) -> None:
    """The score page's readers, no one else: another vendor gets 404, page and API."""
    page = reverse("oscal:assessment_results", args=[approved.pk])
    api = reverse("reports_api:assessment_oscal", args=[approved.pk])
    assert client_for(outsider_vendor).get(page).status_code == 404
    assert token_client(outsider_vendor).get(api).status_code == 404
    assert client_for(auditor).get(page).status_code == 404
    assert token_client(auditor).get(api).status_code == 403
    assert token_client(None).get(api).status_code == 401
    anonymous = client_for(None).get(page)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    validated(download(owner, approved))
    validated(download(assessor, approved))


def test_an_assessment_not_approved_is_refused_with_409(
    assessment: Assessment,  # noqa: F811
    vendor: User,
    assignments: list[Assignment],  # noqa: F811
    admin: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        answer_everything(assessment, vendor)
        workflow.assessment_submit(assessment=assessment, acting_user=vendor)
        for assignment in assignments:
            rate_everything(assignment)
            workflow.assignment_submit(assignment=assignment, acting_user=assignment.assessor)
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SCORED
    page = client_for(admin).get(reverse("oscal:assessment_results", args=[assessment.pk]))
    assert page.status_code == 409
    assert 'data-testid="oscal-unavailable"' in page.content.decode()
    api = token_client(admin).get(reverse("reports_api:assessment_oscal", args=[assessment.pk]))
    assert api.status_code == 409
    assert api.json()["code"] == "not_exportable"
    # The vendor may not read the score before the approval: 404, as the score page.
    vendor_page = reverse("oscal:assessment_results", args=[assessment.pk])
    assert client_for(vendor).get(vendor_page).status_code == 404


def test_the_assessment_page_offers_the_download_once_approved(
    approved: Assessment, vendor: User, outsider_vendor: User
) -> None:
    link = reverse("oscal:assessment_results", args=[approved.pk])
    page = client_for(vendor).get(reverse("assessments:detail", args=[approved.pk]))
    assert page.status_code == 200
    assert link in page.content.decode()


def test_the_assessment_page_hides_the_download_before_approval(
    assessment: Assessment,  # noqa: F811
    admin: User,
) -> None:
    page = client_for(admin).get(reverse("assessments:detail", args=[assessment.pk]))
    assert page.status_code == 200
    assert 'data-testid="oscal-results"' not in page.content.decode()


def test_the_number_of_queries_does_not_grow_with_the_evidence(
    approved: Assessment,
    vendor: User,
    admin: User,
    comprehensive: Framework,  # noqa: F811
) -> None:
    """The queries of a download are the same with two evidence files or twelve."""
    client = client_for(vendor)
    url = reverse("oscal:assessment_results", args=[approved.pk])
    client.get(url)  # sessions, caches: warmed up
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    codes = [i.code for i in indicators_of(assessment=approved)][:10]
    for n, code in enumerate(codes):
        attach(approved, vendor, code, f"补充材料{n}.pdf", f"%PDF-1.4 more {n}".encode())
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.status_code == 200
    document = validated(json.loads(response.content))
    assert document.back_matter is not None and document.back_matter.resources is not None
    assert len(document.back_matter.resources) == 2 + len(codes)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_trusted_platform_evaluation_is_valid_oscal_too(
    trusted: Framework,  # noqa: F811
    admin: User,
    vendor: User,
    assessor: User,
    assessor2: User,  # noqa: F811
    cloud: Cloud,  # noqa: F811
    media: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Mandatory requirements say met or not, and the result whether the platform passed."""
    today = datetime.date.today()
    target_campaign = workflow.campaign_create(
        name="2026年可信政务云平台评估",
        year=today.year,
        framework=trusted,
        opens_on=today - datetime.timedelta(days=10),
        closes_on=today + datetime.timedelta(days=30),
        acting_user=admin,
    )
    workflow.campaign_set_state(
        campaign=target_campaign, state=Campaign.State.OPEN, acting_user=admin
    )
    (target,) = workflow.campaign_add_clouds(
        campaign=target_campaign, clouds=[cloud], acting_user=admin
    )
    assigned = [
        workflow.assignment_create(assessment=target, assessor=a, acting_user=admin)
        for a in (assessor, assessor2)
    ]
    run_to_approval(
        target,
        vendor,
        assigned,
        admin,
        django_capture_on_commit_callbacks,
        evidence={"1.1": [("等保测评报告.pdf", b"%PDF-1.4 trusted")]},
        disputed_code="1.3",
    )
    document = validated(download(vendor, target))
    (result,) = document.results
    assert result.findings is not None
    assert len(result.findings) == len(indicators_of(assessment=target))
    mandatory = [i.code for i in indicators_of(assessment=target) if i.is_mandatory]
    assert mandatory
    by_code = {props(f.props)["indicator"]: f for f in result.findings}
    for code in mandatory:
        assert props(by_code[code].props)["met"] == "true"
        status = by_code[code].target.status
        assert status is not None
        assert status.state.value == "satisfied"
    assert "passed" in props(result.props)


# ----------------------------------------------------------------------------------------------
# Published rankings

# (cloud, total, level): distinctive totals, so that one found in a document is a leak.
LISTED = [
    ("甲省政务云", "93.47", "excellent"),
    ("乙省政务云", "91.86", "advanced"),
    ("丙省政务云", "89.23", "advanced"),
]


def published(admin: User, framework: Framework, *, public_form: str, year: int) -> Ranking:
    target = make_campaign(admin, framework, year)
    for name, total, level in LISTED:
        add_cloud(target, name, total=total, level=level)
    return publish(
        target,
        admin,
        public_form=public_form,
        quotas={"provincial": 6, "municipal": 4},
        min_level="advanced",
    )


def ranking_document(ranking: Ranking) -> tuple[dict[str, Any], str]:
    assert ranking.version is not None
    url = reverse(
        "oscal:ranking_results",
        kwargs={"year": ranking.year, "slug": ranking.slug, "version": ranking.version},
    )
    response = client_for(None).get(url)  # public: anonymous readers too
    assert response.status_code == 200, response.content[:300]
    text = response.content.decode()
    return json.loads(text), text


def test_a_published_ranking_is_one_valid_document(
    admin: User,
    comprehensive: Framework,  # noqa: F811
) -> None:
    ranking = published(admin, comprehensive, public_form=Ranking.PublicForm.RANKED, year=2026)
    raw, text = ranking_document(ranking)
    document = validated(raw)
    assert len(document.results) == len(LISTED)
    totals = {props(r.props)["cloud"]: props(r.props)["total"] for r in document.results}
    assert totals == {name: total for name, total, _ in LISTED}
    positions = sorted(int(props(r.props)["position"]) for r in document.results)
    assert positions == [1, 2, 3]
    assert all("level" in props(r.props) for r in document.results)
    framework = comprehensive
    assert document.import_ap.href.endswith(
        f"/catalogs/{framework.code}/{framework.version}/oscal/"
    )


def test_a_ranking_published_without_scores_shows_none(
    admin: User,
    comprehensive: Framework,  # noqa: F811
) -> None:
    ranking = published(admin, comprehensive, public_form=Ranking.PublicForm.GROUPED, year=2025)
    raw, text = ranking_document(ranking)
    document = validated(raw)
    assert len(document.results) == len(LISTED)
    for _, total, _ in LISTED:
        assert total not in text
        # Nor its dimension points (a quarter of it and so on, as the test data makes them).
        for share in ("0.25", "0.30", "0.20"):
            assert str((Decimal(total) * Decimal(share)).quantize(Decimal("0.01"))) not in text
    for result in document.results:
        shown = props(result.props)
        assert not {"total", "position", "tied", "dimension-points", "dimension-share"} & set(shown)
        assert shown["level"] in {"excellent", "advanced"}
    assert props(document.metadata.props)["scores-shown"] == "false"


def test_an_older_snapshot_holding_scores_shows_none_either(
    admin: User,
    comprehensive: Framework,  # noqa: F811
) -> None:
    """A list published without scores before snapshots dropped them (format 1) holds its
    scores: the document, made from the public view of the snapshot, still shows none."""
    ranking = published(admin, comprehensive, public_form=Ranking.PublicForm.GROUPED, year=2025)
    stored = copy.deepcopy(ranking.snapshot)
    assert stored is not None
    stored["format"] = 1
    totals = {name: total for name, total, _ in LISTED}
    for pool in stored["pools"]:
        for n, entry in enumerate(pool["entries"], start=1):
            entry["total"] = totals[entry["cloud"]]
            entry["position"] = n
    # Test set-up: what an older version looks like in the database.
    Ranking.objects.filter(pk=ranking.pk).update(snapshot=stored)
    ranking.refresh_from_db()
    raw, text = ranking_document(ranking)
    validated(raw)
    for total in totals.values():
        assert total not in text


def test_the_ranking_page_links_the_document_and_answers_304(
    admin: User,
    comprehensive: Framework,  # noqa: F811
) -> None:
    ranking = published(admin, comprehensive, public_form=Ranking.PublicForm.RANKED, year=2026)
    assert ranking.version is not None
    kwargs = {"year": ranking.year, "slug": ranking.slug, "version": ranking.version}
    page = client_for(None).get(reverse("rankings:public_version", kwargs=kwargs))
    assert page.status_code == 200
    url = reverse("oscal:ranking_results", kwargs=kwargs)
    assert url in page.content.decode()
    first = client_for(None).get(url)
    again = client_for(None).get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    missing = client_for(None).get(
        reverse("oscal:ranking_results", kwargs={**kwargs, "version": ranking.version + 1})
    )
    assert missing.status_code == 404


def test_stable_uuids_are_version_5() -> None:
    made = results.stable_uuid("assessment", 1, "finding", 2)
    assert made == results.stable_uuid("assessment", 1, "finding", 2)
    assert made != results.stable_uuid("assessment", 1, "finding", 3)
    assert uuid.UUID(made).version == 5
    assert results.control_id("1.2") == "c-1.2"


def test_the_same_namespace_and_version_as_the_catalog_export() -> None:
    """Both kinds of document name the portal's properties alike and claim one OSCAL version."""
    assert results.NS == catalog_oscal.NS
    assert results.OSCAL_VERSION == catalog_oscal.OSCAL_VERSION
