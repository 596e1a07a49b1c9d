"""Rescuing a live campaign: reopening a late self-assessment, returning with a new deadline,
replacing or removing an assessor, excluding and re-including a cloud, and closing once every
assessment is approved or excluded. Each rescue, each refusal with its message, the audit
records, and nothing half-saved."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from accounts import policy
from accounts.models import Organisation, User
from accounts.policy import Action
from assessments import selectors, services
from assessments.models import (
    Assessment,
    Assignment,
    Campaign,
    ConflictDeclaration,
    Rating,
    ReviewComment,
)
from assessments.signals import scoring_inputs_changed
from audit.models import AuditEvent
from tests.assessments.conftest import answer_everything, rate_everything
from tests.factories import UserFactory

TODAY = timezone.localdate()


def _audits(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def _late(assessment: Assessment) -> None:
    """The campaign's window closed four days ago (test set-up: no service moves dates back)."""
    Campaign.objects.filter(pk=assessment.campaign_id).update(
        opens_on=TODAY - datetime.timedelta(days=40), closes_on=TODAY - datetime.timedelta(days=4)
    )
    assessment.refresh_from_db()
    assessment.campaign.refresh_from_db()


def _review(campaign: Campaign, admin: User) -> None:
    services.campaign_set_state(
        campaign=campaign, state=Campaign.State.REVIEWING, acting_user=admin
    )
    campaign.refresh_from_db()


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are asserted in English (the msgids)."""
    with translation.override("en"):
        yield


@pytest.fixture
def scored_signals() -> Iterator[list[int]]:
    """The assessment ids whose scoring inputs were announced as changed."""
    sent: list[int] = []

    def receiver(sender: Any, assessment_id: int, **kwargs: Any) -> None:
        sent.append(assessment_id)

    scoring_inputs_changed.connect(receiver, dispatch_uid="test_operations")
    yield sent
    scoring_inputs_changed.disconnect(dispatch_uid="test_operations")


@pytest.fixture
def assessor3(office: Organisation) -> User:
    return UserFactory.create(username="expert3", role=User.Role.ASSESSOR, organisation=office)


# ----------------------------------------------------------------------------------------------
# The vendor's window, made explicit


def test_a_vendor_still_edits_a_draft_after_the_review_started_while_its_deadline_holds(
    admin: User, vendor: User, assessment: Assessment
) -> None:
    _review(assessment.campaign, admin)
    assessment.refresh_from_db()

    assert policy.can(vendor, Action.ASSESSMENT_ANSWER, assessment)


def test_a_draft_past_its_deadline_is_locked_with_the_reason(
    admin: User, vendor: User, assessment: Assessment
) -> None:
    _late(assessment)
    _review(assessment.campaign, admin)
    assessment.refresh_from_db()

    reason = policy.refusal(vendor, Action.ASSESSMENT_ANSWER, assessment)
    assert reason is not None
    assert str(TODAY - datetime.timedelta(days=4)) in reason
    assert "reopen" in reason
    with pytest.raises(ValidationError, match="has passed"):
        answer_everything(assessment, vendor)


def test_a_late_draft_is_still_taken_while_the_campaign_is_open(
    vendor: User, assessment: Assessment
) -> None:
    _late(assessment)

    assert policy.can(vendor, Action.ASSESSMENT_ANSWER, assessment)


def test_a_late_vendor_cannot_submit_either(
    admin: User, vendor: User, assessment: Assessment
) -> None:
    answer_everything(assessment, vendor)
    _late(assessment)
    _review(assessment.campaign, admin)
    assessment.refresh_from_db()

    with pytest.raises(ValidationError, match="has passed"):
        services.assessment_submit(assessment=assessment, acting_user=vendor)
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.DRAFT


# ----------------------------------------------------------------------------------------------
# Reopening a self-assessment


def test_the_office_reopens_a_late_draft_and_the_vendor_submits(
    admin: User, vendor: User, assessment: Assessment
) -> None:
    _late(assessment)
    _review(assessment.campaign, admin)
    new_deadline = TODAY + datetime.timedelta(days=7)

    services.assessment_reopen(
        assessment=assessment,
        reason="供应商系统故障，延期提交。",
        due_on=new_deadline,
        acting_user=admin,
    )

    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.DRAFT
    assert assessment.due_on == new_deadline
    assert policy.can(vendor, Action.ASSESSMENT_ANSWER, assessment)
    (event,) = _audits("assessments.assessment.reopened")
    assert event.changes["reason"] == "供应商系统故障，延期提交。"
    assert event.changes["due_on"] == new_deadline.isoformat()
    comment = ReviewComment.objects.get(assessment=assessment)
    assert comment.text == "供应商系统故障，延期提交。" and comment.returned_at is not None
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SUBMITTED


@pytest.mark.parametrize(
    ("reason", "due_on", "field", "message"),
    [
        ("  ", 7, "reason", "Say why the self-assessment is reopened."),
        ("延期", -1, "due_on", "The new deadline cannot be in the past."),
    ],
)
def test_reopening_needs_a_reason_and_a_deadline_not_in_the_past(
    admin: User, assessment: Assessment, reason: str, due_on: int, field: str, message: str
) -> None:
    _late(assessment)

    with pytest.raises(ValidationError) as error:
        services.assessment_reopen(
            assessment=assessment,
            reason=reason,
            due_on=TODAY + datetime.timedelta(days=due_on),
            acting_user=admin,
        )

    assert error.value.message_dict[field] == [message]
    assessment.refresh_from_db()
    assert assessment.self_assessment_due_on is None
    assert not _audits("assessments.assessment.reopened")
    assert not ReviewComment.objects.exists()


def test_a_submitted_self_assessment_is_not_reopened_but_returned(
    admin: User, vendor: User, assessment: Assessment
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)

    with pytest.raises(ValidationError, match="Only a draft or returned self-assessment"):
        services.assessment_reopen(
            assessment=assessment,
            reason="x",
            due_on=TODAY + datetime.timedelta(days=3),
            acting_user=admin,
        )


def test_only_admins_reopen(vendor: User, assessment: Assessment) -> None:
    with pytest.raises(policy.Denied):
        services.assessment_reopen(
            assessment=assessment,
            reason="x",
            due_on=TODAY + datetime.timedelta(days=3),
            acting_user=vendor,
        )


# ----------------------------------------------------------------------------------------------
# Returning with a new deadline


def test_a_return_after_the_deadline_needs_a_new_one(
    admin: User, vendor: User, assessment: Assessment
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    _late(assessment)

    with pytest.raises(ValidationError) as error:
        services.assessment_return(assessment=assessment, comment="请补充", acting_user=admin)
    assert "give a new deadline" in error.value.message_dict["due_on"][0]
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SUBMITTED

    services.assessment_return(
        assessment=assessment,
        comment="请补充",
        due_on=TODAY + datetime.timedelta(days=5),
        acting_user=admin,
    )
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.RETURNED
    assert assessment.due_on == TODAY + datetime.timedelta(days=5)
    assert policy.can(vendor, Action.ASSESSMENT_ANSWER, assessment)
    (event,) = _audits("assessments.assessment.returned")
    assert event.changes["due_on"] == (TODAY + datetime.timedelta(days=5)).isoformat()


# ----------------------------------------------------------------------------------------------
# Replacing and removing assessors


def _scored(assessment: Assessment, vendor: User, assignments: list[Assignment]) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    rate_everything(assignments[0], rating=1)
    rate_everything(assignments[1], rating=2)
    for assignment in assignments:
        services.assignment_submit(assignment=assignment, acting_user=assignment.assessor)
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SCORED


def test_a_replaced_assessors_ratings_stay_but_no_longer_count(
    admin: User,
    vendor: User,
    assessor: User,
    assessor3: User,
    assessment: Assessment,
    assignments: list[Assignment],
    scored_signals: list[int],
) -> None:
    _scored(assessment, vendor, assignments)
    old = assignments[0]

    new = services.assignment_remove(
        assignment=old,
        reason="回避：与云服务商存在业务往来。",
        replacement=assessor3,
        acting_user=admin,
    )

    assert new is not None and new.assessor == assessor3
    old.refresh_from_db()
    assert old.removed_at is not None and old.removed_by == admin
    assert old.removed_reason == "回避：与云服务商存在业务往来。"
    assert old.replaced_by == new
    assert Rating.objects.filter(assignment=old).count() > 0  # kept in the record
    # Only the remaining assessor (rating 2) counts until the new one rates.
    ratings = selectors.consolidated_ratings(assessment=assessment)
    assert {c.rating for c in ratings.values() if c.rating is not None} == {2}
    # The new assessor has not scored: the assessment goes back to review.
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.IN_REVIEW
    # The removed assessor can no longer open or rate it; the new one can.
    assert not policy.can(assessor, Action.ASSESSMENT_VIEW, assessment)
    assert not selectors.assessment_list_for(user=assessor).filter(pk=assessment.pk).exists()
    assert selectors.assignment_for(user=assessor, assessment=assessment) is None
    with pytest.raises(policy.Denied):
        services.rating_save(
            assignment=old,
            indicator=selectors.indicators_of(assessment=assessment)[0],
            rating=3,
            rationale="x",
            acting_user=assessor,
        )
    assert policy.can(assessor3, Action.RATING_SAVE, new)
    (event,) = _audits("assessments.assignment.replaced")
    assert event.changes == {
        "assessor": assessor.username,
        "reason": "回避：与云服务商存在业务往来。",
        "replacement": assessor3.username,
    }
    # The new assessor rates and submits: scored again, and the score is recomputed.
    rate_everything(new, rating=2)
    services.assignment_submit(assignment=new, acting_user=assessor3)
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SCORED
    assert scored_signals[-1] == assessment.pk


def test_removing_an_assessor_of_a_scored_assessment_rescores_it(
    admin: User,
    vendor: User,
    assessment: Assessment,
    assignments: list[Assignment],
    scored_signals: list[int],
) -> None:
    _scored(assessment, vendor, assignments)
    scored_signals.clear()

    new = services.assignment_remove(
        assignment=assignments[0], reason="评分明显偏离。", acting_user=admin
    )

    assert new is None
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SCORED  # the remaining assessor submitted
    assert scored_signals == [assessment.pk]  # its consolidated ratings changed (1.5 → 2)
    assert _audits("assessments.assignment.removed")[0].changes["reason"] == "评分明显偏离。"


def test_removing_the_last_pending_assessor_scores_the_assessment(
    admin: User,
    vendor: User,
    assessment: Assessment,
    assignments: list[Assignment],
    scored_signals: list[int],
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    rate_everything(assignments[0])
    rate_everything(assignments[1])
    services.assignment_submit(assignment=assignments[0], acting_user=assignments[0].assessor)

    services.assignment_remove(assignment=assignments[1], reason="长期未评分。", acting_user=admin)

    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SCORED
    assert scored_signals == [assessment.pk]


def test_a_replacement_must_pass_the_conflict_of_interest_rule(
    admin: User,
    assessor3: User,
    vendor_org: Organisation,
    assessment: Assessment,
    assignments: list[Assignment],
) -> None:
    ConflictDeclaration.objects.create(
        assessor=assessor3, organisation=vendor_org, reason="曾任该公司顾问"
    )

    with pytest.raises(ValidationError) as error:
        services.assignment_remove(
            assignment=assignments[0], reason="回避", replacement=assessor3, acting_user=admin
        )

    assert "Conflict of interest" in error.value.message_dict["replacement"][0]
    assert "曾任该公司顾问" in error.value.message_dict["replacement"][0]
    assignments[0].refresh_from_db()
    assert assignments[0].removed_at is None  # nothing half-saved
    assert assessment.assignments.count() == 2
    assert not _audits("assessments.assignment.replaced")


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("same", "Choose someone other than the assessor being replaced."),
        ("other", "is already assigned."),
        ("vendor", "is not an assessor."),
    ],
)
def test_a_replacement_is_another_free_assessor(
    admin: User,
    vendor: User,
    assessment: Assessment,
    assignments: list[Assignment],
    who: str,
    message: str,
) -> None:
    replacement = {
        "same": assignments[0].assessor,
        "other": assignments[1].assessor,
        "vendor": vendor,
    }[who]

    with pytest.raises(ValidationError) as error:
        services.assignment_remove(
            assignment=assignments[0], reason="x", replacement=replacement, acting_user=admin
        )

    assert message in error.value.message_dict["replacement"][0]
    assert not Assignment.objects.filter(removed_at__isnull=False).exists()


def test_removal_needs_a_reason_and_happens_once(
    admin: User, assessment: Assessment, assignments: list[Assignment]
) -> None:
    with pytest.raises(ValidationError) as error:
        services.assignment_remove(assignment=assignments[0], reason=" ", acting_user=admin)
    assert error.value.message_dict["reason"] == ["Say why the assessor is removed."]

    services.assignment_remove(assignment=assignments[0], reason="x", acting_user=admin)
    with pytest.raises(ValidationError, match="already removed"):
        services.assignment_remove(assignment=assignments[0], reason="x", acting_user=admin)


def test_a_removed_assessor_can_be_assigned_again_and_counts_once(
    admin: User, assessor: User, assessment: Assessment, assignments: list[Assignment]
) -> None:
    services.assignment_remove(assignment=assignments[0], reason="x", acting_user=admin)

    again = services.assignment_create(assessment=assessment, assessor=assessor, acting_user=admin)

    assert again.is_current
    assert selectors.assessment_list_for(user=assessor).filter(pk=assessment.pk).count() == 1


def test_assessors_of_an_approved_assessment_are_not_replaced(
    admin: User, vendor: User, assessment: Assessment, assignments: list[Assignment]
) -> None:
    _scored(assessment, vendor, assignments)
    for indicator_id in selectors.unsettled_disagreements(assessment=assessment):
        raise AssertionError(indicator_id)  # ratings 1 and 2 never disagree
    services.assessment_approve(assessment=assessment, acting_user=admin)

    with pytest.raises(ValidationError, match="Approved assessments are read-only."):
        services.assignment_remove(assignment=assignments[0], reason="x", acting_user=admin)


# ----------------------------------------------------------------------------------------------
# Excluding and re-including a cloud


def test_a_cloud_is_excluded_with_a_reason_and_audited(
    admin: User, vendor: User, assessment: Assessment
) -> None:
    services.assessment_exclude(
        assessment=assessment, reason="该云平台已停止运营。", acting_user=admin
    )

    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.EXCLUDED
    assert assessment.excluded_by == admin and assessment.excluded_at is not None
    assert assessment.excluded_reason == "该云平台已停止运营。"
    (event,) = _audits("assessments.assessment.excluded")
    assert event.changes == {"from": "draft", "to": "excluded", "reason": "该云平台已停止运营。"}
    # Nothing in it changes: the vendor's form is locked and says why.
    assert policy.refusal(vendor, Action.ASSESSMENT_ANSWER, assessment) == (
        "The assessment is excluded from the campaign."
    )


def test_exclusion_needs_a_reason(admin: User, assessment: Assessment) -> None:
    with pytest.raises(ValidationError) as error:
        services.assessment_exclude(assessment=assessment, reason="", acting_user=admin)

    assert error.value.message_dict["reason"] == ["Say why the cloud is excluded."]
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.DRAFT
    assert not _audits("assessments.assessment.excluded")


def test_an_excluded_cloud_is_re_included_in_the_state_it_left(
    admin: User,
    vendor: User,
    assessment: Assessment,
    assignments: list[Assignment],
    scored_signals: list[int],
) -> None:
    _scored(assessment, vendor, assignments)
    services.assessment_exclude(assessment=assessment, reason="待核实", acting_user=admin)
    scored_signals.clear()

    services.assessment_include(assessment=assessment, acting_user=admin)

    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SCORED
    assert assessment.excluded_at is None and assessment.excluded_reason == ""
    assert scored_signals == [assessment.pk]
    (event,) = _audits("assessments.assessment.included")
    assert event.changes == {"from": "excluded", "to": "scored", "excluded_reason": "待核实"}


def test_only_an_excluded_cloud_is_re_included(admin: User, assessment: Assessment) -> None:
    with pytest.raises(ValidationError, match="Only an excluded assessment can be re-included."):
        services.assessment_include(assessment=assessment, acting_user=admin)


def test_an_approved_assessment_with_a_report_in_force_is_excluded_only_after_revocation(
    admin: User, vendor: User, assessment: Assessment, assignments: list[Assignment]
) -> None:
    from reports.certified.services import report_issue, report_revoke
    from reports.scoring.results import assessments_score

    _scored(assessment, vendor, assignments)
    assessments_score(assessment_ids=[assessment.pk])
    services.assessment_approve(assessment=assessment, acting_user=admin)
    report = report_issue(assessment=assessment, acting_user=admin)

    with pytest.raises(ValidationError, match="Revoke the report first"):
        services.assessment_exclude(assessment=assessment, reason="x", acting_user=admin)
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.APPROVED

    report_revoke(report=report, reason="数据有误", acting_user=admin)
    services.assessment_exclude(assessment=assessment, reason="数据有误", acting_user=admin)
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.EXCLUDED


def test_an_excluded_cloud_is_neither_ranked_nor_unfinished(
    admin: User, vendor: User, assessment: Assessment, assignments: list[Assignment]
) -> None:
    from reports.rankings.selectors import campaign_ranking_data

    services.assessment_exclude(assessment=assessment, reason="退出评估", acting_user=admin)

    data = campaign_ranking_data(campaign=assessment.campaign)
    assert data.candidates == []
    assert data.unfinished == []
    assert selectors.campaign_unfinished(campaign=assessment.campaign) == []


# ----------------------------------------------------------------------------------------------
# Closing a campaign


def test_a_campaign_closes_once_each_assessment_is_approved_or_excluded(
    admin: User, assessment: Assessment
) -> None:
    campaign = assessment.campaign
    _review(campaign, admin)

    with pytest.raises(ValidationError) as error:
        services.campaign_set_state(
            campaign=campaign, state=Campaign.State.CLOSED, acting_user=admin
        )
    assert "approved or excluded" in error.value.messages[0]
    assert str(assessment.cloud) in error.value.messages[0]
    (unfinished,) = selectors.campaign_unfinished(campaign=campaign)
    assert unfinished.assessment == assessment
    assert "has not submitted" in unfinished.missing

    services.assessment_exclude(assessment=assessment, reason="逾期未提交", acting_user=admin)
    services.campaign_set_state(campaign=campaign, state=Campaign.State.CLOSED, acting_user=admin)

    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.CLOSED
    with pytest.raises(ValidationError, match="The campaign is closed"):
        services.assessment_include(assessment=assessment, acting_user=admin)


def test_what_is_missing_names_the_assessors_still_scoring(
    admin: User, vendor: User, assessment: Assessment, assignments: list[Assignment]
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    rate_everything(assignments[0])
    services.assignment_submit(assignment=assignments[0], acting_user=assignments[0].assessor)

    (unfinished,) = selectors.campaign_unfinished(campaign=assessment.campaign)

    assert unfinished.missing == "1 of 2 assessors have submitted their scores."


# ----------------------------------------------------------------------------------------------
# The campaign's deadlines


def test_scoring_is_due_on_or_after_submissions_close(admin: User, campaign: Campaign) -> None:
    with pytest.raises(ValidationError) as error:
        services.campaign_update(
            campaign=campaign,
            scoring_due_on=campaign.closes_on - datetime.timedelta(days=1),
            acting_user=admin,
        )
    assert error.value.message_dict["scoring_due_on"] == [
        "Scoring is due on or after the day submissions close."
    ]
    campaign.refresh_from_db()
    assert campaign.scoring_due_on is None

    due = campaign.closes_on + datetime.timedelta(days=20)
    services.campaign_update(campaign=campaign, scoring_due_on=due, acting_user=admin)

    campaign.refresh_from_db()
    assert campaign.scoring_due_on == due
    (event,) = _audits("assessments.campaign.updated")
    assert event.changes == {"scoring_due_on": ["", due.isoformat()]}


# ----------------------------------------------------------------------------------------------
# What can happen next


def _actions(user: User, assessment: Assessment) -> dict[str, tuple[bool, str]]:
    found = selectors.next_actions(user=user, assessment=assessment)
    return {a.key: (a.allowed, a.reason) for a in found.actions}


def test_next_actions_for_the_admin_of_a_draft(admin: User, assessment: Assessment) -> None:
    actions = _actions(admin, assessment)

    assert actions["approve"] == (False, "Only a scored assessment can be approved.")
    assert actions["return"] == (False, "Only a submitted assessment can go back to the vendor.")
    assert actions["reopen"] == (True, "")
    assert actions["assign"] == (True, "")
    assert actions["replace"] == (False, "No assessor is assigned.")
    assert actions["exclude"] == (True, "")
    assert "include" not in actions


def test_next_actions_for_the_admin_of_a_scored_assessment(
    admin: User, vendor: User, assessment: Assessment, assignments: list[Assignment]
) -> None:
    _scored(assessment, vendor, assignments)

    actions = _actions(admin, assessment)

    assert actions["approve"] == (True, "")
    assert actions["return"] == (True, "")
    assert actions["reopen"][0] is False
    assert actions["assign"] == (False, "Assessors cannot be added after scoring.")
    assert actions["replace"] == (True, "")


def test_next_actions_for_the_admin_of_an_excluded_assessment(
    admin: User, assessment: Assessment
) -> None:
    services.assessment_exclude(assessment=assessment, reason="退出评估", acting_user=admin)

    found = selectors.next_actions(user=admin, assessment=assessment)
    actions = {a.key: (a.allowed, a.reason) for a in found.actions}

    assert actions["include"] == (True, "")
    assert "exclude" not in actions
    assert actions["assign"][0] is False
    assert "退出评估" in found.notice


def test_next_actions_for_the_vendor(admin: User, vendor: User, assessment: Assessment) -> None:
    actions = _actions(vendor, assessment)
    assert actions["answer"] == (True, "")
    allowed, reason = actions["submit"]
    assert not allowed and "indicators still need an answer" in reason

    _late(assessment)
    _review(assessment.campaign, admin)
    assessment.refresh_from_db()
    actions = _actions(vendor, assessment)
    assert actions["answer"][0] is False and "has passed" in actions["answer"][1]

    services.assessment_reopen(
        assessment=assessment,
        reason="延期一周",
        due_on=TODAY + datetime.timedelta(days=7),
        acting_user=admin,
    )
    assessment.refresh_from_db()
    found = selectors.next_actions(user=vendor, assessment=assessment)
    assert "延期一周" in found.notice
    assert (TODAY + datetime.timedelta(days=7)).isoformat() in found.notice


def test_next_actions_for_an_assessor(
    vendor: User, assessor: User, assessment: Assessment, assignments: list[Assignment]
) -> None:
    actions = _actions(assessor, assessment)
    assert actions["rate"] == (False, "This assessment is not open for scoring now.")

    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    actions = _actions(assessor, assessment)
    assert actions["rate"] == (True, "")
    assert actions["submit_scores"][0] is False


def test_the_owner_gets_the_summary_only(owner: User, assessment: Assessment) -> None:
    found = selectors.next_actions(user=owner, assessment=assessment)

    assert found.actions == []
    assert assessment.due_on.isoformat() in found.summary


def test_the_unfinished_list_takes_two_queries_however_many_clouds(
    admin: User,
    vendor_org: Organisation,
    government_org: Organisation,
    campaign: Campaign,
    django_assert_num_queries: Any,
) -> None:
    from assessments.models import Cloud

    clouds = [
        services.cloud_create(
            name=f"测试政务云{n}",
            owner=government_org,
            vendors=[vendor_org],
            level=Cloud.Level.MUNICIPAL,
            acting_user=None,
        )
        for n in range(4)
    ]
    services.campaign_add_clouds(campaign=campaign, clouds=clouds, acting_user=admin)

    with django_assert_num_queries(2):  # the assessments, then their current assignments
        unfinished = selectors.campaign_unfinished(campaign=campaign)

    assert len(unfinished) == 4


def test_a_report_names_only_the_assessors_whose_ratings_count(
    admin: User,
    vendor: User,
    assessor: User,
    assessor3: User,
    assessment: Assessment,
    assignments: list[Assignment],
) -> None:
    from reports.certified.content import report_content_build
    from reports.scoring.results import assessment_score

    _scored(assessment, vendor, assignments)
    new = services.assignment_remove(
        assignment=assignments[0],
        reason="因病无法继续评估。",
        replacement=assessor3,
        acting_user=admin,
    )
    assert new is not None
    rate_everything(new, rating=2)
    services.assignment_submit(assignment=new, acting_user=assessor3)

    result = assessment_score(assessment_id=assessment.pk).result
    assert result is not None
    content = report_content_build(
        assessment=assessment,
        result=result,
        number="GCE-TEST-0001",
        code="A" * 24,
        language="zh-hans",
        issued_on=TODAY,
        supersedes=None,
    )

    names = set(content["assessors"])
    authors = {note["assessor"] for notes in content["notes"].values() for note in notes}
    assert names == {str(assignments[1].assessor), str(assessor3)}
    assert authors == names  # the replaced assessor's rationales are not in the report
