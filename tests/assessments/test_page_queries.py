"""Every page of one assessment reads a fixed number of queries, however many evidence files,
review comments, assessors (current, removed, or merely candidates) it has: each is measured
with none of them and again with 40, by every role that sees the page.

An evidence file printed with its uploader, a comment with its author, an assessor with a
conflict-of-interest check: each used to cost a query per row (52 queries at 40 files)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation, User
from assessments import services
from assessments.models import (
    Assessment,
    Assignment,
    ConflictDeclaration,
    Evidence,
    Rating,
    ReviewComment,
)
from assessments.selectors import indicators_of
from tests.assessments.conftest import answer_everything, rate_everything
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

MANY = 40
# The most any page of an assessment may read (session, user, the page's own rows, the header).
MOST = 12


def _clutter(
    assessment: Assessment, office: Organisation, vendor_org: Organisation, admin: User, n: int
) -> None:
    """``n`` evidence files each uploaded by someone else, ``n`` review comments each by
    another author (half of them sent to the vendor), ``n`` candidate assessors each with a
    declared conflict, and removed assessors whose ratings the review page still shows."""
    indicators = indicators_of(assessment=assessment)
    now = timezone.now()
    for i in range(n):
        indicator = indicators[i % len(indicators)]
        uploader = User.objects.create(
            username=f"uploader-{i}", organisation=vendor_org, role=User.Role.VENDOR
        )
        author = User.objects.create(
            username=f"author-{i}", organisation=office, role=User.Role.ASSESSOR
        )
        Evidence.objects.create(
            assessment=assessment,
            indicator=indicator,
            file=f"evidence/queries/{i}.pdf",
            original_name=f"证明材料-{i}.pdf",
            size=1024,
            sha256=f"{i:064x}",
            content_type="application/pdf",
            uploaded_by=uploader,
        )
        ReviewComment.objects.create(
            assessment=assessment,
            indicator=indicator,
            author=author,
            text=f"请补充第 {i} 项材料。",
            returned_at=now if i % 2 else None,
        )
        ConflictDeclaration.objects.create(
            assessor=author, organisation=vendor_org, reason=f"曾任顾问 {i}"
        )
    for i in range(n // 8):
        former = User.objects.create(
            username=f"former-{i}", organisation=office, role=User.Role.ASSESSOR
        )
        removed = Assignment.objects.create(
            assessment=assessment, assessor=former, removed_at=now, removed_by=admin
        )
        Rating.objects.bulk_create(
            Rating(assignment=removed, indicator=indicator, rating=1, rationale="旧评分")
            for indicator in indicators
            if not indicator.is_mandatory
        )


@pytest.fixture
def scored(assessment: Assessment, assignments: list[Assignment], vendor: User) -> Assessment:
    """Submitted by the vendor and rated by both assessors (every page of it has content)."""
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    for assignment in assignments:
        rate_everything(assignment)
    return assessment


def _pages(
    admin: User, assessor: User, vendor: User, owner: User
) -> list[tuple[str, User, Callable[[int], str]]]:
    def url(name: str) -> Callable[[int], str]:
        return lambda pk: reverse(name, args=[pk])

    return [
        ("detail", vendor, url("assessments:detail")),
        ("detail", owner, url("assessments:detail")),
        ("detail", admin, url("assessments:detail")),
        ("evidence list", vendor, url("assessments:evidence_list")),
        ("evidence list", owner, url("assessments:evidence_list")),
        ("evidence list", assessor, url("assessments:evidence_list")),
        ("evidence list", admin, url("assessments:evidence_list")),
        ("scoring page", assessor, url("assessments:score")),
        ("review", admin, url("assessments:assessment_review")),
        ("assessors", admin, url("assessments:assessment_assessors")),
        ("reopen", admin, url("assessments:assessment_reopen")),
        ("exclude", admin, url("assessments:assessment_exclude")),
        ("score result", admin, url("scoring:assessment_result")),
        ("reports", admin, url("certified:assessment_reports")),
    ]


def _counts(
    pages: list[tuple[str, User, Callable[[int], str]]], assessment: Assessment
) -> dict[tuple[str, str], int]:
    counts = {}
    for name, user, url in pages:
        client = client_for(user)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url(assessment.pk))
        assert response.status_code == 200, (name, user.username, response.status_code)
        counts[(name, user.username)] = len(ctx.captured_queries)
    return counts


def test_every_page_of_an_assessment_reads_the_same_queries_with_0_and_40_files_comments_and_assessors(  # noqa: E501
    admin: User,
    assessor: User,
    vendor: User,
    owner: User,
    office: Organisation,
    vendor_org: Organisation,
    scored: Assessment,
) -> None:
    pages = _pages(admin, assessor, vendor, owner)
    bare = _counts(pages, scored)

    _clutter(scored, office, vendor_org, admin, MANY)
    assert Evidence.objects.filter(assessment=scored).count() == MANY
    crowded = _counts(pages, scored)

    assert crowded == bare
    assert max(crowded.values()) <= MOST, crowded


def test_the_crowded_pages_still_show_every_file_comment_and_assessor(
    admin: User,
    assessor: User,
    vendor: User,
    office: Organisation,
    vendor_org: Organisation,
    scored: Assessment,
) -> None:
    """What the constant count must not cost: the rows themselves, with their people."""
    _clutter(scored, office, vendor_org, admin, MANY)
    files = client_for(assessor).get(reverse("assessments:evidence_list", args=[scored.pk]))
    html = files.content.decode()
    assert all(f"证明材料-{i}.pdf" in html for i in range(MANY))
    assert "uploader-7" in html or "uploader-7" in str(User.objects.get(username="uploader-7"))
    review = client_for(admin).get(reverse("assessments:assessment_review", args=[scored.pk]))
    text = review.content.decode()
    assert "旧评分" in text  # the removed assessors' ratings, struck out
    candidates = client_for(admin).get(
        reverse("assessments:assessment_assessors", args=[scored.pk])
    )
    # Each declared conflict is named with its reason.
    assert all(f"曾任顾问 {i}" in candidates.content.decode() for i in range(0, MANY, 9))
