"""Deadline reminders: three days before a deadline and once it has passed, each sent once per
recipient, assessment and deadline; a new deadline gives new reminders."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Organisation, User
from assessments import services as workflow
from assessments.models import Assessment, Assignment, Campaign, Cloud
from notifications.models import Notification
from notifications.services import reminders_send
from notifications.tasks import send_deadline_reminders_task

from .conftest import BASE_URL, Mailbox, subject_of, text_of

Commit = Callable[..., Any]
DAY = datetime.timedelta(days=1)


def _kinds(user: User) -> list[tuple[str, datetime.date | None]]:
    return list(
        Notification.objects.filter(recipient=user).order_by("id").values_list("kind", "deadline")
    )


def test_the_vendor_is_reminded_three_days_before_the_deadline_once(
    smtp: Mailbox,
    assessment: Assessment,
    vendor: User,
    django_capture_on_commit_callbacks: Commit,
) -> None:
    due = assessment.due_on

    assert reminders_send(today=due - 4 * DAY) == []
    with django_capture_on_commit_callbacks(execute=True):
        (reminder,) = reminders_send(today=due - 3 * DAY)
        assert reminders_send(today=due - 3 * DAY) == []
        assert reminders_send(today=due - 2 * DAY) == []

    assert reminder.recipient == vendor and reminder.kind == Notification.Kind.SELF_ASSESSMENT_DUE
    (message,) = smtp.messages
    assert message["To"] == vendor.email
    assert due.isoformat() in subject_of(message)
    assert f"{BASE_URL}/assessments/{assessment.pk}/" in text_of(message)


def test_an_overdue_self_assessment_is_reminded_once_and_a_new_deadline_starts_again(
    assessment: Assessment, vendor: User
) -> None:
    due = assessment.due_on
    reminders_send(today=due - DAY)
    reminders_send(today=due + DAY)
    reminders_send(today=due + 5 * DAY)
    assert _kinds(vendor) == [("self_due", due), ("self_overdue", due)]

    # Returned (or reopened) with a new deadline: reminded again about the new one.
    new_due = due + 10 * DAY
    Assessment.objects.filter(pk=assessment.pk).update(
        state=Assessment.State.RETURNED, self_assessment_due_on=new_due
    )
    reminders_send(today=new_due - 2 * DAY)
    reminders_send(today=new_due - 2 * DAY)

    assert _kinds(vendor) == [
        ("self_due", due),
        ("self_overdue", due),
        ("self_due", new_due),
    ]


def test_a_submitted_self_assessment_or_a_closed_campaign_gets_no_reminder(
    assessment: Assessment, vendor: User
) -> None:
    due = assessment.due_on
    Assessment.objects.filter(pk=assessment.pk).update(state=Assessment.State.SUBMITTED)
    assert reminders_send(today=due + DAY) == []
    Assessment.objects.filter(pk=assessment.pk).update(state=Assessment.State.DRAFT)
    Campaign.objects.filter(pk=assessment.campaign_id).update(state=Campaign.State.CLOSED)
    assert reminders_send(today=due + DAY) == []


def test_assessors_still_scoring_are_reminded_of_the_scoring_deadline(
    smtp: Mailbox,
    assessment: Assessment,
    assignments: list[Assignment],
    vendor: User,
    assessor: User,
    assessor2: User,
    django_capture_on_commit_callbacks: Commit,
) -> None:
    from tests.assessments.conftest import answer_everything, rate_everything

    scoring_due = assessment.campaign.closes_on + 14 * DAY
    Campaign.objects.filter(pk=assessment.campaign_id).update(scoring_due_on=scoring_due)
    answer_everything(assessment, vendor)
    workflow.assessment_submit(assessment=assessment, acting_user=vendor)
    done = next(a for a in assignments if a.assessor == assessor2)
    rate_everything(done)
    workflow.assignment_submit(assignment=done, acting_user=assessor2)

    with django_capture_on_commit_callbacks(execute=True):
        reminders_send(today=scoring_due - 3 * DAY)
        reminders_send(today=scoring_due + DAY)
        reminders_send(today=scoring_due + DAY)

    assert _kinds(assessor) == [("scoring_due", scoring_due), ("scoring_overdue", scoring_due)]
    assert _kinds(assessor2) == []
    assert [subject_of(m) for m in smtp.messages] == [
        f"Reminder: scoring of 济南政务云计算中心 is due on {scoring_due.isoformat()}",
        "Scoring of 济南政务云计算中心 is overdue",
    ]
    assert f"{BASE_URL}/assessments/{assessment.pk}/score/" in text_of(smtp.messages[1])


def _more_clouds(
    campaign: Campaign, government_org: Organisation, vendor_org: Organisation, n: int
) -> None:
    clouds = []
    for i in range(n):
        cloud = Cloud.objects.create(
            name=f"测试政务云{i}", owner=government_org, level=Cloud.Level.MUNICIPAL
        )
        cloud.vendors.set([vendor_org])
        clouds.append(cloud)
    Assessment.objects.bulk_create([Assessment(campaign=campaign, cloud=c) for c in clouds])


def test_the_reminder_run_takes_the_same_queries_for_one_assessment_or_many(
    assessment: Assessment,
    vendor: User,
    government_org: Organisation,
    vendor_org: Organisation,
) -> None:
    due = assessment.due_on
    with CaptureQueriesContext(connection) as one:
        assert len(reminders_send(today=due - DAY)) == 1

    _more_clouds(assessment.campaign, government_org, vendor_org, 5)
    with CaptureQueriesContext(connection) as six:
        assert len(reminders_send(today=due + DAY)) == 6

    # Assessments, vendor links, vendors, assignments, the reminders already sent, the insert
    # (and its savepoint).
    assert len(one.captured_queries) == len(six.captured_queries) == 8


def test_the_daily_task_sends_the_reminders(assessment: Assessment, vendor: User) -> None:
    Assessment.objects.filter(pk=assessment.pk).update(
        self_assessment_due_on=datetime.date.today() + DAY
    )
    assert send_deadline_reminders_task.delay().get() == 1
    assert send_deadline_reminders_task.delay().get() == 0
    assert _kinds(vendor) == [("self_due", datetime.date.today() + DAY)]
