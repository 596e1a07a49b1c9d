"""Each workflow event tells the right people, in the portal and by e-mail, in their language,
with a link to the right page; nothing is sent for a change that is rolled back.

E-mails go through a real SMTP server (``smtp``). The workflow's ``transaction.on_commit``
callbacks run when the test's block commits (``django_capture_on_commit_callbacks``)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from assessments import services as workflow
from assessments.models import Assessment, Assignment, Campaign, Cloud
from audit.services import audit_record
from indicators.models import Framework
from notifications.models import Notification
from notifications.services import Event, notify_event
from tests.factories import UserFactory
from tests.reports.certified.fixtures import (  # noqa: F401  (fixtures)
    approve,
    issue_and_render,
    signing_files,
    signing_key,
)

from .conftest import BASE_URL, Mailbox, html_of, subject_of, text_of

Commit = Callable[..., Any]


def test_an_assessor_assigned_in_an_open_campaign_is_told_in_english(
    smtp: Mailbox,
    assessment: Assessment,
    assessor: User,
    admin: User,
    django_capture_on_commit_callbacks: Commit,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        workflow.assignment_create(assessment=assessment, assessor=assessor, acting_user=admin)

    (message,) = smtp.messages
    assert message["To"] == assessor.email
    assert subject_of(message) == "You are assigned to score 济南政务云计算中心"
    body = text_of(message)
    assert "has assigned you to score “济南政务云计算中心”" in body
    assert "Government cloud evaluation" in body
    link = f"{BASE_URL}/assessments/{assessment.pk}/score/"
    assert link in body and f'href="{link}"' in html_of(message)
    notification = Notification.objects.get()
    assert (notification.recipient, notification.kind) == (assessor, Notification.Kind.ASSIGNED)
    assert notification.assessment == assessment
    assert notification.emailed_at is not None and notification.email_error == ""


def test_assessors_assigned_in_a_draft_campaign_are_told_when_it_opens(
    smtp: Mailbox,
    comprehensive: Framework,
    cloud: Cloud,
    assessor: User,
    assessor2: User,
    admin: User,
    django_capture_on_commit_callbacks: Commit,
) -> None:
    today = datetime.date.today()
    draft = workflow.campaign_create(
        name="2027年政务云综合水平评估",
        year=today.year + 1,
        framework=comprehensive,
        opens_on=today,
        closes_on=today + datetime.timedelta(days=30),
        acting_user=admin,
    )
    with django_capture_on_commit_callbacks(execute=True):
        (target,) = workflow.campaign_add_clouds(campaign=draft, clouds=[cloud], acting_user=admin)
        for person in (assessor, assessor2):
            workflow.assignment_create(assessment=target, assessor=person, acting_user=admin)
    # They could not open the assessment yet: nobody is told.
    assert smtp.messages == [] and not Notification.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        workflow.campaign_set_state(campaign=draft, state=Campaign.State.OPEN, acting_user=admin)

    assert sorted(str(m["To"]) for m in smtp.messages) == sorted([assessor.email, assessor2.email])
    assert set(Notification.objects.values_list("kind", flat=True)) == {"assigned"}


def test_a_returned_self_assessment_tells_the_vendor_in_chinese_with_the_reason(
    smtp: Mailbox,
    assessment: Assessment,
    assignments: list[Assignment],
    vendor: User,
    outsider_vendor: User,
    admin: User,
    django_capture_on_commit_callbacks: Commit,
) -> None:
    from tests.assessments.conftest import answer_everything

    answer_everything(assessment, vendor)
    workflow.assessment_submit(assessment=assessment, acting_user=vendor)
    smtp.messages.clear()

    with django_capture_on_commit_callbacks(execute=True):
        workflow.assessment_return(
            assessment=assessment, comment="请补充等保三级备案证明。", acting_user=admin
        )

    (message,) = smtp.messages
    assert message["To"] == vendor.email
    body = text_of(message)
    assert "请补充等保三级备案证明。" in body
    assert "济南政务云计算中心" in subject_of(message)
    assert "政务云评估" in body and "Government cloud evaluation" not in body
    assert f"{BASE_URL}/assessments/{assessment.pk}/" in body
    assert not Notification.objects.filter(recipient=outsider_vendor).exists()


def test_a_submitted_self_assessment_tells_its_assessors_not_the_vendor_who_submitted(
    smtp: Mailbox,
    assessment: Assessment,
    assignments: list[Assignment],
    vendor: User,
    assessor: User,
    assessor2: User,
    django_capture_on_commit_callbacks: Commit,
) -> None:
    from tests.assessments.conftest import answer_everything

    answer_everything(assessment, vendor)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.assessment_submit(assessment=assessment, acting_user=vendor)

    assert sorted(str(m["To"]) for m in smtp.messages) == sorted([assessor.email, assessor2.email])
    message = smtp.messages[0]
    assert subject_of(message) == "济南政务云计算中心 has submitted its self-assessment"
    assert f"{BASE_URL}/assessments/{assessment.pk}/score/" in text_of(message)


def test_a_submission_nobody_is_assigned_to_tells_the_office(
    smtp: Mailbox,
    assessment: Assessment,
    vendor: User,
    admin: User,
    django_capture_on_commit_callbacks: Commit,
) -> None:
    from tests.assessments.conftest import answer_everything

    answer_everything(assessment, vendor)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.assessment_submit(assessment=assessment, acting_user=vendor)

    (message,) = smtp.messages
    assert message["To"] == admin.email
    assert "No assessor is assigned to it yet" in text_of(message)
    assert reverse("assessments:assessment_assessors", args=[assessment.pk]) in text_of(message)


def test_finished_scoring_tells_the_office_and_approval_tells_owner_and_vendors(
    smtp: Mailbox,
    assessment: Assessment,
    assignments: list[Assignment],
    vendor: User,
    owner: User,
    admin: User,
    assessor: User,
    django_capture_on_commit_callbacks: Commit,
) -> None:
    from tests.reports.conftest import score_completely

    with django_capture_on_commit_callbacks(execute=True):
        score_completely(assessment, vendor, assignments)
    scored = [m for m in smtp.messages if m["To"] == admin.email]
    assert [subject_of(m) for m in scored] == ["Scoring of 济南政务云计算中心 is finished"]
    assert f"{BASE_URL}/assessments/{assessment.pk}/review/" in text_of(scored[0])
    smtp.messages.clear()

    with django_capture_on_commit_callbacks(execute=True):
        workflow.assessment_approve(assessment=assessment, acting_user=admin)

    assert sorted(str(m["To"]) for m in smtp.messages) == sorted([owner.email, vendor.email])
    for message in smtp.messages:
        assert "政务云评估" in text_of(message)
        assert f"{BASE_URL}/assessments/{assessment.pk}/" in text_of(message)
    assert not Notification.objects.filter(recipient=assessor, kind="approved").exists()


def test_an_issued_report_tells_owner_and_vendors_once_its_pdf_is_ready(
    smtp: Mailbox,
    scored: Assessment,
    vendor: User,
    owner: User,
    admin: User,
    signing_key: Any,  # noqa: F811
    settings: Any,
    django_capture_on_commit_callbacks: Commit,
) -> None:
    approve(scored, admin)
    smtp.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        report = issue_and_render(scored, admin)

    assert sorted(str(m["To"]) for m in smtp.messages) == sorted([owner.email, vendor.email])
    message = smtp.to(vendor.email)[0]
    assert report.number in subject_of(message)
    base = settings.PUBLIC_BASE_URL
    assert f"{base}/assessments/{scored.pk}/reports/" in text_of(message)
    assert Notification.objects.filter(report=report).count() == 2


def test_an_answered_objection_tells_its_author(
    smtp: Mailbox,
    assessment: Assessment,
    assignments: list[Assignment],
    vendor: User,
    owner: User,
    admin: User,
    django_capture_on_commit_callbacks: Commit,
) -> None:
    from reports.models import Ranking
    from reports.rankings import services as rankings
    from reports.rankings.objections import objection_answer, objection_lodge
    from tests.reports.conftest import score_completely

    # Rated 3 everywhere: Excellent, so the cloud is on the list it can object to.
    with django_capture_on_commit_callbacks(execute=True):  # the score is computed on commit
        scored = approve(score_completely(assessment, vendor, assignments, rating=3), admin)
    today = datetime.date.today()
    draft = rankings.ranking_draft_get_or_create(campaign=scored.campaign, acting_user=admin)
    rankings.ranking_settings_save(
        ranking=draft,
        quotas={"provincial": 6, "municipal": 4},
        min_level=draft.min_level,
        tie_break=draft.tie_break,
        public_form=Ranking.PublicForm.RANKED,
        notice_starts_on=today,
        notice_ends_on=today + datetime.timedelta(days=6),
        acting_user=admin,
    )
    ranking = rankings.ranking_publish(ranking=draft, acting_user=admin)
    objection = objection_lodge(
        ranking=ranking, assessment=scored, reason="得分有误。", evidence=None, acting_user=owner
    )
    smtp.messages.clear()

    with django_capture_on_commit_callbacks(execute=True):
        objection_answer(
            objection=objection, state="rejected", answer="经复核，得分无误。", acting_user=admin
        )

    (message,) = smtp.messages
    assert message["To"] == owner.email
    assert "经复核，得分无误。" in text_of(message)
    path = reverse("rankings:objections", args=[ranking.year, ranking.slug])
    assert f"{BASE_URL}{path}" in text_of(message)


def test_nothing_is_sent_for_a_change_that_is_rolled_back(
    smtp: Mailbox,
    assessment: Assessment,
    assessor: User,
    admin: User,
    django_capture_on_commit_callbacks: Commit,
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        workflow.assignment_create(assessment=assessment, assessor=assessor, acting_user=admin)
        raise RuntimeError("a later step failed")

    assert callbacks == []
    assert smtp.messages == [] and not Notification.objects.exists()
    assert not Assignment.objects.exists()


def test_a_user_without_an_address_is_told_in_the_portal_only(
    smtp: Mailbox,
    assessment: Assessment,
    admin: User,
    office: Any,
    django_capture_on_commit_callbacks: Commit,
) -> None:
    mute = UserFactory.create(username="no_mail", role=User.Role.ASSESSOR, organisation=office)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.assignment_create(assessment=assessment, assessor=mute, acting_user=admin)

    assert smtp.messages == []
    notification = Notification.objects.get(recipient=mute)
    assert notification.emailed_at is None and notification.subject


def test_unknown_action_codes_are_ignored(
    smtp: Mailbox, assessment: Assessment, admin: User, django_capture_on_commit_callbacks: Commit
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        audit_record(
            action="assessments.assessment.frobnicated", acting_user=admin, target=assessment
        )
    assert callbacks == []
    assert (
        notify_event(
            Event("assessments.assessment.frobnicated", "assessments.assessment", "1", {}, None)
        )
        == []
    )


def test_a_missing_target_gives_no_notification(db: None) -> None:
    event = Event("assessments.assessment.approved", "assessments.assessment", "999999", {}, None)
    assert notify_event(event) == []


def test_a_reopened_self_assessment_tells_the_vendors_with_the_new_deadline(
    smtp: Mailbox,
    assessment: Assessment,
    vendor: User,
    admin: User,
    django_capture_on_commit_callbacks: Commit,
) -> None:
    """``assessments.assessment.reopened`` (another part of the workflow records it) is told
    like a return, with the deadline the assessment now has."""
    due = datetime.date.today() + datetime.timedelta(days=7)
    Assessment.objects.filter(pk=assessment.pk).update(self_assessment_due_on=due)
    event = Event(
        "assessments.assessment.reopened",
        "assessments.assessment",
        str(assessment.pk),
        {"reason": "逾期未提交，延长一周。"},
        admin.pk,
    )

    with django_capture_on_commit_callbacks(execute=True):
        (notification,) = notify_event(event)

    assert notification.recipient == vendor
    assert "逾期未提交，延长一周。" in notification.body
    assert due.isoformat() in notification.body
    (message,) = smtp.messages
    assert due.isoformat() in text_of(message)


def test_the_acting_user_is_not_told_of_their_own_action(
    smtp: Mailbox,
    assessment: Assessment,
    admin: User,
    django_capture_on_commit_callbacks: Commit,
) -> None:
    # An admin who scores, for once: assigned by themselves, they get no notification.
    event = Event(
        "assessments.assessment.scored", "assessments.assessment", str(assessment.pk), {}, admin.pk
    )
    assert notify_event(event) == []


def test_a_replacement_assessor_is_told_as_assigned(
    smtp: Mailbox,
    assessment: Assessment,
    assignments: list[Assignment],
    admin: User,
    office: Any,
    django_capture_on_commit_callbacks: Commit,
) -> None:
    """``assessments.assignment.replaced`` (recorded by the workflow's replacement of an
    assessor, with the new one's username as ``replacement``) tells the new assessor only."""
    newcomer = UserFactory.create(username="expert3", role=User.Role.ASSESSOR, organisation=office)
    newcomer.email, newcomer.language = "expert3@example.gov.cn", "en"
    newcomer.save()
    old = assignments[0]
    new = Assignment.objects.create(assessment=assessment, assessor=newcomer)
    Assignment.objects.filter(pk=old.pk).update(removed_at=timezone.now(), replaced_by=new)
    changes = {"assessor": old.assessor.username, "reason": "回避", "replacement": "expert3"}

    with django_capture_on_commit_callbacks(execute=True):
        (told,) = notify_event(
            Event(
                "assessments.assignment.replaced",
                "assessments.assessment",
                str(assessment.pk),
                changes,
                admin.pk,
            )
        )
        # Without the username, the newest assignment that replaces another.
        del changes["replacement"]
        (again,) = notify_event(
            Event(
                "assessments.assignment.replaced",
                "assessments.assessment",
                str(assessment.pk),
                changes,
                admin.pk,
            )
        )

    assert told.recipient == again.recipient == newcomer
    assert told.kind == Notification.Kind.ASSIGNED
    assert [str(m["To"]) for m in smtp.messages] == [newcomer.email, newcomer.email]
