"""Every free-text field has a length limit: text over it is refused with a message giving its
length and the limit, and nothing is saved (never silently cut, as a spreadsheet cell would)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import User
from assessments import services
from assessments.models import Answer, Assessment, Assignment, Rating, ReviewComment
from assessments.selectors import indicators_of
from tests.assessments.conftest import answer_everything
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def submitted(assessment: Assessment, assignments: list[Assignment], vendor: User) -> Assessment:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    return assessment


def test_a_rationale_over_the_limit_is_refused_on_the_page_with_its_length_and_nothing_saved(
    submitted: Assessment, assignments: list[Assignment], assessor: User
) -> None:
    indicator = next(i for i in indicators_of(assessment=submitted) if not i.is_mandatory)
    response = client_for(assessor).post(
        reverse("assessments:rating_save", args=[submitted.pk, indicator.pk]),
        {"rating": "2", "rationale": "据" * 123_456},
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    assert response.status_code == 400
    (message,) = response.json()["errors"]
    assert "123,456" in message and "10,000" in message  # its length and the limit
    assert not Rating.objects.filter(indicator=indicator).exists()


def test_each_field_takes_text_up_to_its_limit_and_refuses_one_character_more(
    submitted: Assessment,
    assignments: list[Assignment],
    assessor: User,
    vendor: User,
    admin: User,
) -> None:
    indicators = indicators_of(assessment=submitted)
    graded = next(i for i in indicators if not i.is_mandatory)
    assignment = assignments[0]

    def rate(text: str) -> object:
        return services.rating_save(
            assignment=assignment, indicator=graded, rating=2, rationale=text, acting_user=assessor
        )

    def comment(text: str) -> object:
        return services.review_comment_add(
            assessment=submitted, indicator=graded, text=text, acting_user=assessor
        )

    def exclude(text: str) -> object:
        return services.assessment_exclude(assessment=submitted, reason=text, acting_user=admin)

    for save, limit, field in (
        (rate, services.RATIONALE_MAX, "rationale"),
        (comment, services.COMMENT_MAX, "text"),
        (exclude, services.REASON_MAX, "reason"),
    ):
        with pytest.raises(ValidationError) as refused:
            save("长" * (limit + 1))
        assert field in refused.value.message_dict, field
        assert f"shorten it to {limit:,} characters" in refused.value.message_dict[field][0]
        save("长" * limit)

    assert Rating.objects.get(assignment=assignment, indicator=graded).rationale == "长" * (
        services.RATIONALE_MAX
    )
    assert ReviewComment.objects.get(assessment=submitted).text == "长" * services.COMMENT_MAX
    submitted.refresh_from_db()
    assert submitted.excluded_reason == "长" * services.REASON_MAX


def test_an_explanation_over_the_limit_is_refused_and_the_saved_one_kept(
    assessment: Assessment, vendor: User
) -> None:
    indicator = next(i for i in indicators_of(assessment=assessment) if not i.is_mandatory)

    def explain(text: str) -> Answer:
        return services.answer_save(
            assessment=assessment,
            indicator=indicator,
            self_rating=2,
            explanation=text,
            acting_user=vendor,
        )

    explain("已部署同城双活。")
    with pytest.raises(ValidationError, match="10,001 characters long"):
        explain("长" * (services.EXPLANATION_MAX + 1))
    assert Answer.objects.get(assessment=assessment, indicator=indicator).explanation == (
        "已部署同城双活。"
    )


def test_the_comment_of_a_return_is_bounded_too(
    submitted: Assessment, admin: User, assignments: list[Assignment]
) -> None:
    with pytest.raises(ValidationError, match="shorten it"):
        services.assessment_return(
            assessment=submitted, comment="长" * (services.COMMENT_MAX + 1), acting_user=admin
        )
    submitted.refresh_from_db()
    assert submitted.state == Assessment.State.SUBMITTED


def test_the_reason_of_a_reopening_is_bounded_too(assessment: Assessment, admin: User) -> None:
    with pytest.raises(ValidationError, match="shorten it"):
        services.assessment_reopen(
            assessment=assessment,
            reason="长" * (services.REASON_MAX + 1),
            due_on=timezone.localdate() + datetime.timedelta(days=7),
            acting_user=admin,
        )
    assessment.refresh_from_db()
    assert assessment.self_assessment_due_on is None
