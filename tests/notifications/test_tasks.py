"""The e-mail task: sends once, skips what is gone, retries SMTP failures (storing the error),
and runs in a real worker that sends through a real SMTP server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from celery.exceptions import Retry
from pytest_django import Settings

from accounts.models import User
from assessments import services as workflow
from assessments.models import Assessment
from govcloud_eval.celery import app as celery_app
from notifications.models import Notification
from notifications.tasks import send_notification_email_task
from tests.worker_support import WorkerProcess, _database_url

from .conftest import BASE_URL, Mailbox, free_port, subject_of, text_of


def _notification(user: User) -> Notification:
    return Notification.objects.create(
        kind=Notification.Kind.APPROVED,
        recipient=user,
        subject="济南政务云计算中心的评估结果已审定",
        body="评估办公室已审定评估结果。",
        url="/assessments/7/",
    )


def test_it_sends_once_and_skips_a_missing_notification(smtp: Mailbox, vendor: User) -> None:
    notification = _notification(vendor)

    assert send_notification_email_task.delay(notification.pk).get() == "sent"
    assert send_notification_email_task.delay(notification.pk).get() == "already sent"
    assert send_notification_email_task.delay(987654).get() == "missing"

    (message,) = smtp.messages
    assert subject_of(message) == "济南政务云计算中心的评估结果已审定"
    assert f"{BASE_URL}/assessments/7/" in text_of(message)


def test_a_recipient_without_an_address_is_skipped(smtp: Mailbox, vendor: User) -> None:
    vendor.email = ""
    vendor.save(update_fields=["email"])
    assert send_notification_email_task.delay(_notification(vendor).pk).get() == "no address"
    assert smtp.messages == []


def test_an_smtp_server_that_does_not_answer_is_retried_and_the_error_kept(
    smtp: Mailbox, vendor: User, settings: Settings
) -> None:
    notification = _notification(vendor)
    settings.EMAIL_PORT = free_port()  # nobody listens there

    with pytest.raises(Retry):
        send_notification_email_task.apply(args=(notification.pk,), throw=True).get()

    notification.refresh_from_db()
    assert notification.emailed_at is None
    assert "ConnectionRefusedError" in notification.email_error


@pytest.fixture
def mail_worker(transactional_db: None, smtp: Mailbox) -> Iterator[WorkerProcess]:
    """A real worker, on a queue of its own, whose e-mails go to the test's SMTP server."""
    from django.db import connection

    if celery_app.conf.broker_url.startswith("memory"):
        pytest.fail("REDIS_URL is not set: worker tests need Redis (`make test` sets it).")
    queue = f"gce-mail-{uuid.uuid4().hex[:8]}"
    previous = celery_app.conf.task_default_queue, celery_app.conf.task_always_eager
    celery_app.conf.task_default_queue = queue
    celery_app.conf.task_always_eager = False
    worker = WorkerProcess(
        queue,
        _database_url(connection.settings_dict),
        env={
            "EMAIL_HOST": smtp.host,
            "EMAIL_PORT": str(smtp.port),
            "EMAIL_USE_TLS": "false",
            "DEFAULT_FROM_EMAIL": "noreply@eval.example.gov.cn",
            "PUBLIC_BASE_URL": BASE_URL,
        },
    )
    worker.start()
    yield worker
    worker.stop()
    celery_app.conf.task_default_queue, celery_app.conf.task_always_eager = previous


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_e_mail_of_a_workflow_event(
    mail_worker: WorkerProcess,
    smtp: Mailbox,
    assessment: Assessment,
    admin: User,
    assessor: User,
) -> None:
    """An assignment, committed for real: the notification is created on commit and its
    e-mail is sent by the worker, in the assessor's language."""
    mail_worker.wait_ready()
    workflow.assignment_create(assessment=assessment, assessor=assessor, acting_user=admin)

    (message,) = smtp.wait_for(1, timeout=60)
    assert message["To"] == assessor.email
    assert subject_of(message) == "You are assigned to score 济南政务云计算中心"
    assert f"{BASE_URL}/assessments/{assessment.pk}/score/" in text_of(message)
    mail_worker.wait_for(
        lambda: Notification.objects.filter(emailed_at__isnull=False).exists(),
        timeout=30,
        what="the notification is marked e-mailed",
    )


def test_e_mails_left_unsent_are_queued_again_until_a_week_has_passed(
    smtp: Mailbox, vendor: User, owner: User
) -> None:
    import datetime

    from django.utils import timezone

    from notifications.services import unsent_emails_requeue

    now = timezone.now()
    stranded = _notification(vendor)  # its message never reached the broker
    recent = _notification(vendor)  # its own retries may still be running
    stale = _notification(vendor)  # too old to be worth an e-mail
    sent = _notification(owner)
    Notification.objects.filter(pk=stranded.pk).update(
        created_at=now - datetime.timedelta(hours=13)
    )
    Notification.objects.filter(pk=stale.pk).update(created_at=now - datetime.timedelta(days=8))
    Notification.objects.filter(pk=sent.pk).update(
        created_at=now - datetime.timedelta(hours=13), emailed_at=now
    )

    assert unsent_emails_requeue(now=now) == 1

    (message,) = smtp.messages
    assert subject_of(message) == "济南政务云计算中心的评估结果已审定"
    stranded.refresh_from_db()
    recent.refresh_from_db()
    assert stranded.emailed_at is not None and recent.emailed_at is None
    assert unsent_emails_requeue(now=now) == 0  # sent now: nothing left to queue
