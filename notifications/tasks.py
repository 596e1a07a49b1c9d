"""The notification tasks: thin, safe to run twice.

``send_notification_email`` sends one notification's e-mail and marks it sent; a notification
already sent, gone, or whose recipient has no address is skipped. SMTP and network errors are
retried with backoff (the error is stored on the notification meanwhile).
``send_deadline_reminders`` runs daily (``celery beat``) and sends each reminder once;
``requeue_unsent_emails`` runs hourly and queues again the e-mails left unsent.
"""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import emails

logger = logging.getLogger(__name__)


@shared_task(
    name="notifications.send_notification_email",
    autoretry_for=(smtplib.SMTPException, OSError, OperationalError, InterfaceError),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=8,
)
def send_notification_email_task(notification_id: int) -> str:
    """E-mails notification ``notification_id``: "sent", "already sent", "no address" or
    "missing"."""
    outcome = emails.notification_email_send(notification_id=notification_id)
    logger.info("notification %s: %s", notification_id, outcome)
    return outcome


@shared_task(
    name="notifications.send_deadline_reminders",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=60,
    max_retries=3,
)
def send_deadline_reminders_task() -> int:
    """Creates today's deadline reminders not sent yet and queues their e-mails; returns how
    many were created."""
    from .services import reminders_send

    return len(reminders_send())


@shared_task(name="notifications.requeue_unsent_emails")
def requeue_unsent_emails_task() -> int:
    """Queues again the e-mails left unsent (see ``services.unsent_emails_requeue``)."""
    from .services import unsent_emails_requeue

    return unsent_emails_requeue()
