"""The lead's review of one assessment: every assessor's rating, disagreements, settling,
returning to the vendor and approving."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from assessments import services
from assessments.models import Assessment, Assignment, Cloud, ReviewComment, Settlement
from assessments.selectors import indicators_of
from audit.models import AuditEvent
from indicators.models import Framework, Indicator
from tests.assessments.conftest import answer_everything, rate_everything
from tests.conftest import client_for as _client_for

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    """A signed-in client reading the pages in English, so that messages can be matched."""
    client = _client_for(user)
    client.cookies["django_language"] = "en"
    return client


def _graded(assessment: Assessment) -> Indicator:
    return next(i for i in indicators_of(assessment=assessment) if not i.is_mandatory)


@pytest.fixture
def disputed(assessment: Assessment, assignments: list[Assignment], vendor: User) -> Indicator:
    """A scored assessment whose two assessors rate one indicator 3 and 1 (two steps apart)."""
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    first, second = assignments
    rate_everything(first, rating=2)
    rate_everything(second, rating=2)
    indicator = _graded(assessment)
    for assignment, rating, why in (
        (first, 3, "容灾演练记录齐全。"),
        (second, 1, "仅有方案，未见演练。"),
    ):
        services.rating_save(
            assignment=assignment,
            indicator=indicator,
            rating=rating,
            rationale=why,
            acting_user=assignment.assessor,
        )
        services.assignment_submit(assignment=assignment, acting_user=assignment.assessor)
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SCORED
    return indicator


def _review(admin: User, assessment: Assessment) -> TestResponse:
    return client_for(admin).get(reverse("assessments:assessment_review", args=[assessment.pk]))


def test_the_review_shows_each_assessors_rating_and_rationale_and_the_mean(
    admin: User, assessment: Assessment, disputed: Indicator
) -> None:
    response = _review(admin, assessment)

    row = next(r for r in response.context["rows"] if r["indicator"] == disputed)
    assert [r["text"][:1] for r in row["ratings"]] == ["3", "1"]
    assert [r["rationale"] for r in row["ratings"]] == [
        "容灾演练记录齐全。",
        "仅有方案，未见演练。",
    ]
    assert row["result"] == "2.00"
    assert row["disagreement"] and row["unsettled"]
    page = response.content.decode()
    assert "容灾演练记录齐全。" in page and "仅有方案，未见演练。" in page
    assert 'class="is-disagreement"' in page


def test_only_disagreements_get_a_settle_form(
    admin: User, assessment: Assessment, disputed: Indicator
) -> None:
    response = _review(admin, assessment)

    with_forms = [r["indicator"] for r in response.context["rows"] if r["form"] is not None]
    assert with_forms == [disputed]
    assert [r["indicator"] for r in response.context["unsettled"]] == [disputed]


def test_a_met_and_a_not_met_on_a_mandatory_item_is_a_disagreement(
    admin: User, trusted: Framework, cloud: Cloud, assessor: User, assessor2: User, vendor: User
) -> None:
    import datetime

    today = datetime.date.today()
    campaign = services.campaign_create(
        name="可信政务云评估",
        year=today.year,
        framework=trusted,
        opens_on=today,
        closes_on=today + datetime.timedelta(days=30),
        acting_user=admin,
    )
    services.campaign_set_state(campaign=campaign, state="open", acting_user=admin)
    (assessment,) = services.campaign_add_clouds(
        campaign=campaign, clouds=[cloud], acting_user=admin
    )
    first, second = (
        services.assignment_create(assessment=assessment, assessor=a, acting_user=admin)
        for a in (assessor, assessor2)
    )
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    mandatory = next(i for i in indicators_of(assessment=assessment) if i.is_mandatory)
    for assignment, met in ((first, True), (second, False)):
        services.rating_save(
            assignment=assignment,
            indicator=mandatory,
            met=met,
            rationale="核查。",
            acting_user=assignment.assessor,
        )

    response = _review(admin, assessment)

    row = next(r for r in response.context["rows"] if r["indicator"] == mandatory)
    assert [r["text"] for r in row["ratings"]] == ["Met", "Not met"]
    assert row["unsettled"]
    assert "met" in row["form"].fields and "rating" not in row["form"].fields

    client_for(admin).post(
        reverse("assessments:assessment_settle", args=[assessment.pk]),
        {
            "indicator": str(mandatory.pk),
            f"settle-{mandatory.pk}-met": "no",
            f"settle-{mandatory.pk}-reason": "现场核查未见备份。",
        },
    )
    settlement = Settlement.objects.get(indicator=mandatory)
    assert settlement.met is False and settlement.rating is None


def test_approving_before_settling_names_the_indicators_to_settle(
    admin: User, assessment: Assessment, disputed: Indicator
) -> None:
    response = client_for(admin).post(
        reverse("assessments:assessment_approve", args=[assessment.pk]), follow=True
    )

    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SCORED
    assert [str(m) for m in response.context["messages"]] == [
        f"Settle the disagreements first: {disputed.code}"
    ]
    assert f'href="#indicator-{disputed.pk}">{disputed.code}</a>' in response.content.decode()


def test_a_settlement_needs_a_reason_and_is_not_saved_without_one(
    admin: User, assessment: Assessment, disputed: Indicator
) -> None:
    response = client_for(admin).post(
        reverse("assessments:assessment_settle", args=[assessment.pk]),
        {"indicator": str(disputed.pk), f"settle-{disputed.pk}-rating": "2"},
    )

    assert response.status_code == 400
    assert "Give the reason for the settled rating." in response.content.decode()
    assert not Settlement.objects.exists()


def test_a_settlement_needs_a_rating(
    admin: User, assessment: Assessment, disputed: Indicator
) -> None:
    response = client_for(admin).post(
        reverse("assessments:assessment_settle", args=[assessment.pk]),
        {"indicator": str(disputed.pk), f"settle-{disputed.pk}-reason": "依据演练报告。"},
    )

    assert response.status_code == 400
    assert "Choose the settled rating." in response.content.decode()
    assert not Settlement.objects.exists()


def test_settling_then_approving_makes_the_assessment_read_only(
    admin: User, assessment: Assessment, disputed: Indicator
) -> None:
    client = client_for(admin)

    response = client.post(
        reverse("assessments:assessment_settle", args=[assessment.pk]),
        {
            "indicator": str(disputed.pk),
            f"settle-{disputed.pk}-rating": "2",
            f"settle-{disputed.pk}-reason": "演练报告显示部分完成，取先进级。",
        },
    )
    assert response.status_code == 302
    row = next(r for r in _review(admin, assessment).context["rows"] if r["indicator"] == disputed)
    assert row["settled"] and not row["unsettled"]
    assert row["result"].startswith("2")

    response = client.post(
        reverse("assessments:assessment_approve", args=[assessment.pk]), follow=True
    )

    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.APPROVED
    assert assessment.approved_by == admin
    assert AuditEvent.objects.filter(action="assessments.rating.settled").exists()
    assert AuditEvent.objects.filter(action="assessments.assessment.approved").exists()
    page = response.content.decode()
    assert "Approved assessments are read-only." in page
    assert "<form" not in page.split('id="main"')[1].split("</main>")[0]
    assert all(r["form"] is None for r in response.context["rows"])


def test_an_approved_assessment_refuses_a_late_settlement(
    admin: User, assessment: Assessment, disputed: Indicator
) -> None:
    services.settlement_save(
        assessment=assessment, indicator=disputed, rating=2, reason="取中。", acting_user=admin
    )
    services.assessment_approve(assessment=assessment, acting_user=admin)

    response = client_for(admin).post(
        reverse("assessments:assessment_settle", args=[assessment.pk]),
        {
            "indicator": str(disputed.pk),
            f"settle-{disputed.pk}-rating": "3",
            f"settle-{disputed.pk}-reason": "改判。",
        },
    )

    assert response.status_code == 400
    assert Settlement.objects.get().rating == 2


def test_returning_needs_a_comment(
    admin: User, assessment: Assessment, disputed: Indicator
) -> None:
    response = client_for(admin).post(
        reverse("assessments:assessment_return", args=[assessment.pk]), {"comment": "  "}
    )

    assessment.refresh_from_db()
    assert response.status_code == 400
    assert "Say why the assessment goes back to the vendor." in response.content.decode()
    assert assessment.state == Assessment.State.SCORED


def test_returning_sends_the_assessors_pending_comments_with_the_admins(
    admin: User, assessment: Assessment, disputed: Indicator, assessor: User
) -> None:
    services.review_comment_add(
        assessment=assessment, indicator=disputed, text="请补充容灾演练报告。", acting_user=assessor
    )
    page = _review(admin, assessment).content.decode()
    assert "请补充容灾演练报告。" in page

    client_for(admin).post(
        reverse("assessments:assessment_return", args=[assessment.pk]),
        {"comment": "请按专家意见补充材料后重新提交。"},
    )

    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.RETURNED
    assert not ReviewComment.objects.filter(returned_at__isnull=True).exists()
    assert ReviewComment.objects.filter(author=admin, text__startswith="请按专家意见").exists()


def test_the_review_of_a_draft_offers_neither_return_nor_approval(
    admin: User, assessment: Assessment
) -> None:
    response = _review(admin, assessment)

    assert not response.context["can_return"]
    assert not response.context["can_approve"]
    assert Assignment.objects.count() == 0
