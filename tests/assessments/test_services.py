from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import translation

from accounts.models import Organisation, User
from assessments import selectors, services
from assessments.models import Assessment, Assignment, Campaign, Cloud
from audit.models import AuditEvent
from indicators.models import Framework
from tests.assessments.conftest import answer_everything, rate_everything
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _submit_and_rate(
    assessment: Assessment,
    assignments: list[Assignment],
    vendor: User,
    ratings: tuple[int, int] = (2, 2),
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    for assignment, rating in zip(assignments, ratings, strict=True):
        rate_everything(assignment, rating)
        services.assignment_submit(assignment=assignment, acting_user=assignment.assessor)
    assessment.refresh_from_db()


def test_a_government_organisation_needs_a_published_division_code() -> None:
    from accounts.services import organisation_create

    with pytest.raises(ValidationError) as error:
        organisation_create(
            kind=Organisation.Kind.GOVERNMENT,
            name="不存在市",
            division_code="999900",
            acting_user=None,
        )
    assert "999900" in str(error.value)
    assert not Organisation.objects.filter(name="不存在市").exists()

    org = organisation_create(
        kind=Organisation.Kind.GOVERNMENT,
        name="嘉兴市大数据局",
        division_code="330400",
        acting_user=None,
    )
    assert org.admin_level == "prefecture"


def test_a_cloud_needs_a_vendor_and_a_government_owner(
    government_org: Organisation, vendor_org: Organisation
) -> None:
    with pytest.raises(ValidationError):
        services.cloud_create(
            name="无运营商云", owner=government_org, vendors=[], level="municipal", acting_user=None
        )
    with pytest.raises(ValidationError):
        services.cloud_create(
            name="错误主管云",
            owner=vendor_org,
            vendors=[vendor_org],
            level="municipal",
            acting_user=None,
        )
    assert not Cloud.objects.exists()


def test_a_campaign_needs_a_published_framework_and_a_window_that_closes_after_it_opens(
    admin: User, comprehensive: Framework
) -> None:
    draft = Framework.objects.create(
        code="draft-x", version="1", kind=Framework.Kind.COMPREHENSIVE, name_zh="草稿"
    )
    today = datetime.date.today()
    with pytest.raises(ValidationError) as error:
        services.campaign_create(
            name="草稿批次",
            year=2026,
            framework=draft,
            opens_on=today,
            closes_on=today,
            acting_user=admin,
        )
    assert "framework" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.campaign_create(
            name="倒置批次",
            year=2026,
            framework=comprehensive,
            opens_on=today,
            closes_on=today - datetime.timedelta(days=1),
            acting_user=admin,
        )
    assert "closes_on" in error.value.message_dict
    assert not Campaign.objects.exists()


def test_only_admins_create_campaigns(assessor: User, comprehensive: Framework) -> None:
    with pytest.raises(PermissionDenied):
        services.campaign_create(
            name="x",
            year=2026,
            framework=comprehensive,
            opens_on=datetime.date.today(),
            closes_on=datetime.date.today(),
            acting_user=assessor,
        )


def test_adding_a_cloud_twice_creates_one_assessment(
    campaign: Campaign, cloud: Cloud, admin: User
) -> None:
    services.campaign_add_clouds(campaign=campaign, clouds=[cloud], acting_user=admin)
    again = services.campaign_add_clouds(campaign=campaign, clouds=[cloud], acting_user=admin)

    assert again == []
    assert campaign.assessments.count() == 1


def test_an_assessor_of_the_vendor_or_with_a_declared_link_cannot_be_assigned(
    assessment: Assessment, admin: User, vendor_org: Organisation, government_org: Organisation
) -> None:
    insider = UserFactory.create(
        username="insider", role=User.Role.ASSESSOR, organisation=vendor_org
    )
    linked = UserFactory.create(username="linked", role=User.Role.ASSESSOR)
    services.conflict_declare(
        assessor=linked, organisation=government_org, reason="曾任该局顾问", acting_user=linked
    )

    with pytest.raises(ValidationError) as error:
        services.assignment_create(assessment=assessment, assessor=insider, acting_user=admin)
    assert vendor_org.name in str(error.value)
    with pytest.raises(ValidationError) as error:
        services.assignment_create(assessment=assessment, assessor=linked, acting_user=admin)
    assert "曾任该局顾问" in str(error.value)
    assert not Assignment.objects.exists()


def test_no_more_assessors_than_the_campaign_allows(
    assessment: Assessment, assignments: list[Assignment], admin: User
) -> None:
    third = UserFactory.create(username="third", role=User.Role.ASSESSOR)

    with pytest.raises(ValidationError) as error:
        services.assignment_create(assessment=assessment, assessor=third, acting_user=admin)

    assert "2" in str(error.value)


def test_submitting_names_every_missing_answer_and_changes_nothing(
    assessment: Assessment, vendor: User
) -> None:
    indicators = selectors.indicators_of(assessment=assessment)
    services.answer_save(
        assessment=assessment,
        indicator=indicators[0],
        self_rating=2,
        explanation="说明",
        value=Decimal("1") if indicators[0].is_quantitative else None,
        acting_user=vendor,
    )

    with pytest.raises(ValidationError) as error:
        services.assessment_submit(assessment=assessment, acting_user=vendor)

    assert len(error.value.messages) == 19
    assert "2.1" in " ".join(error.value.messages)
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.DRAFT


def test_quantitative_indicators_need_the_measured_value(
    assessment: Assessment, vendor: User
) -> None:
    indicator = next(i for i in selectors.indicators_of(assessment=assessment) if i.is_quantitative)
    services.answer_save(
        assessment=assessment,
        indicator=indicator,
        self_rating=2,
        explanation="说明",
        acting_user=vendor,
    )

    with translation.override("en"):
        missing = {
            m.indicator.pk: m.problems for m in selectors.answers_missing(assessment=assessment)
        }

    assert missing[indicator.pk] == ["the measured value"]


def test_a_rating_out_of_range_is_refused(assessment: Assessment, vendor: User) -> None:
    indicator = selectors.indicators_of(assessment=assessment)[0]

    with pytest.raises(ValidationError) as error:
        services.answer_save(
            assessment=assessment, indicator=indicator, self_rating=4, acting_user=vendor
        )

    assert "0" in str(error.value) and "3" in str(error.value)
    assert not assessment.answers.exists()


def test_another_vendor_cannot_answer_for_the_cloud(
    assessment: Assessment, outsider_vendor: User
) -> None:
    indicator = selectors.indicators_of(assessment=assessment)[0]

    with pytest.raises(PermissionDenied):
        services.answer_save(
            assessment=assessment, indicator=indicator, self_rating=1, acting_user=outsider_vendor
        )


def test_after_submission_answers_are_locked_until_returned(
    assessment: Assessment, assignments: list[Assignment], vendor: User, admin: User
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    indicator = selectors.indicators_of(assessment=assessment)[0]

    with pytest.raises(ValidationError):
        services.answer_save(
            assessment=assessment, indicator=indicator, self_rating=3, acting_user=vendor
        )

    services.assessment_return(
        assessment=assessment, comment="请补充等保测评报告", acting_user=admin
    )
    services.answer_save(
        assessment=assessment,
        indicator=indicator,
        self_rating=3,
        explanation="已补充",
        value=Decimal("99.95") if indicator.is_quantitative else None,
        acting_user=vendor,
    )
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SUBMITTED
    actions = list(
        AuditEvent.objects.filter(
            target_type="assessments.assessment", target_id=str(assessment.pk)
        )
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions[-4:] == [
        "assessments.assessment.submitted",
        "assessments.assessment.returned",
        "assessments.answer.saved",  # the answer changed after the return
        "assessments.assessment.submitted",
    ]


def test_the_first_rating_starts_the_review_and_the_last_submission_scores_it(
    assessment: Assessment, assignments: list[Assignment], vendor: User
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    first, second = assignments

    rate_everything(first)
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.IN_REVIEW
    services.assignment_submit(assignment=first, acting_user=first.assessor)
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.IN_REVIEW

    rate_everything(second)
    services.assignment_submit(assignment=second, acting_user=second.assessor)
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SCORED


def test_an_assessor_cannot_submit_without_a_rationale_for_every_rating(
    assessment: Assessment, assignments: list[Assignment], vendor: User
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    first = assignments[0]
    rate_everything(first)
    indicator = selectors.indicators_of(assessment=assessment)[5]
    services.rating_save(
        assignment=first, indicator=indicator, rating=1, rationale="", acting_user=first.assessor
    )

    with pytest.raises(ValidationError) as error, translation.override("en"):
        services.assignment_submit(assignment=first, acting_user=first.assessor)

    assert error.value.messages == [
        f"{indicator.code} {indicator.name_zh}: a rating and its rationale"
    ]


def test_only_the_assigned_assessor_rates(
    assessment: Assessment, assignments: list[Assignment], vendor: User, assessor2: User
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    indicator = selectors.indicators_of(assessment=assessment)[0]

    with pytest.raises(PermissionDenied):
        services.rating_save(
            assignment=assignments[0],
            indicator=indicator,
            rating=1,
            rationale="x",
            acting_user=assessor2,
        )


def test_the_consolidated_rating_is_the_mean_unless_settled(
    assessment: Assessment, assignments: list[Assignment], vendor: User, admin: User
) -> None:
    _submit_and_rate(assessment, assignments, vendor, ratings=(1, 2))
    indicator = selectors.indicators_of(assessment=assessment)[0]

    consolidated = selectors.consolidated_ratings(assessment=assessment)[indicator.pk]
    assert consolidated.rating == Decimal("1.50")
    assert not consolidated.disagreement

    services.settlement_save(
        assessment=assessment,
        indicator=indicator,
        rating=2,
        reason="复核现场材料",
        acting_user=admin,
    )
    consolidated = selectors.consolidated_ratings(assessment=assessment)[indicator.pk]
    assert consolidated.rating == Decimal("2") and consolidated.settled


def test_ratings_two_steps_apart_must_be_settled_before_approval(
    assessment: Assessment, assignments: list[Assignment], vendor: User, admin: User
) -> None:
    _submit_and_rate(assessment, assignments, vendor, ratings=(1, 3))
    assert assessment.state == Assessment.State.SCORED

    with pytest.raises(ValidationError) as error:
        services.assessment_approve(assessment=assessment, acting_user=admin)
    assert "1.1" in str(error.value)

    graded = [i for i in selectors.indicators_of(assessment=assessment) if not i.is_mandatory]
    for indicator in graded:
        services.settlement_save(
            assessment=assessment,
            indicator=indicator,
            rating=2,
            reason="专家组合议",
            acting_user=admin,
        )
    services.assessment_approve(assessment=assessment, acting_user=admin)
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.APPROVED
    assert assessment.approved_by == admin


def test_an_approved_assessment_never_changes(
    assessment: Assessment, assignments: list[Assignment], vendor: User, admin: User
) -> None:
    _submit_and_rate(assessment, assignments, vendor)
    services.assessment_approve(assessment=assessment, acting_user=admin)
    indicator = selectors.indicators_of(assessment=assessment)[0]

    with pytest.raises(ValidationError):
        services.answer_save(
            assessment=assessment, indicator=indicator, self_rating=0, acting_user=vendor
        )
    with pytest.raises(ValidationError):
        services.assessment_return(assessment=assessment, comment="x", acting_user=admin)
    with pytest.raises(ValidationError):
        services.settlement_save(
            assessment=assessment, indicator=indicator, rating=0, reason="x", acting_user=admin
        )


def test_a_campaign_closes_only_when_every_assessment_is_approved(
    campaign: Campaign,
    assessment: Assessment,
    assignments: list[Assignment],
    vendor: User,
    admin: User,
) -> None:
    services.campaign_set_state(
        campaign=campaign, state=Campaign.State.REVIEWING, acting_user=admin
    )

    with pytest.raises(ValidationError):
        services.campaign_set_state(
            campaign=campaign, state=Campaign.State.CLOSED, acting_user=admin
        )
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.REVIEWING


def test_mandatory_items_split_between_met_and_not_met_disagree(
    trusted: Framework, admin: User, cloud: Cloud, vendor: User, assessor: User, assessor2: User
) -> None:
    today = datetime.date.today()
    campaign = services.campaign_create(
        name="可信政务云评估",
        year=today.year,
        framework=trusted,
        opens_on=today,
        closes_on=today + datetime.timedelta(days=9),
        acting_user=admin,
    )
    services.campaign_set_state(campaign=campaign, state=Campaign.State.OPEN, acting_user=admin)
    (assessment,) = services.campaign_add_clouds(
        campaign=campaign, clouds=[cloud], acting_user=admin
    )
    first, second = (
        services.assignment_create(assessment=assessment, assessor=a, acting_user=admin)
        for a in (assessor, assessor2)
    )
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    mandatory = next(i for i in selectors.indicators_of(assessment=assessment) if i.is_mandatory)
    services.rating_save(
        assignment=first, indicator=mandatory, met=True, rationale="是", acting_user=assessor
    )
    services.rating_save(
        assignment=second, indicator=mandatory, met=False, rationale="否", acting_user=assessor2
    )

    consolidated = selectors.consolidated_ratings(assessment=assessment)[mandatory.pk]

    assert consolidated.disagreement and consolidated.met is None


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_submissions_make_exactly_one_transition(
    assessment: Assessment, assignments: list[Assignment], vendor: User
) -> None:
    answer_everything(assessment, vendor)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit() -> None:
        try:
            barrier.wait(timeout=10)
            services.assessment_submit(
                assessment=Assessment.objects.get(pk=assessment.pk), acting_user=vendor
            )
            outcomes.append("submitted")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["refused", "submitted"]
    assert (
        AuditEvent.objects.filter(
            action="assessments.assessment.submitted", target_id=str(assessment.pk)
        ).count()
        == 1
    )
