"""E-mails: a notification as a message (plain text and simple HTML, in the recipient's
language, with an absolute link), and its sending."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .models import Notification


def public_url(path: str) -> str:
    """``path`` inside the portal as an absolute address, from ``PUBLIC_BASE_URL``."""
    base = str(getattr(settings, "PUBLIC_BASE_URL", "http://127.0.0.1:8000")).rstrip("/")
    return base + path if path else base + "/"


def notification_message(notification: Notification) -> EmailMultiAlternatives:
    """The e-mail of ``notification`` to its recipient, in the recipient's language."""
    recipient = notification.recipient
    context = {
        "notification": notification,
        "link": public_url(notification.url) if notification.url else "",
        "notifications_link": public_url("/notifications/"),
        "recipient": recipient,
    }
    language = recipient.language if recipient.language in ("zh-hans", "en") else "zh-hans"
    with translation.override(language):
        text = render_to_string("notifications/email/notification.txt", context)
        html = render_to_string("notifications/email/notification.html", context)
    message = EmailMultiAlternatives(
        subject=notification.subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email],
    )
    message.attach_alternative(html, "text/html")
    return message


def notification_email_send(*, notification_id: int) -> str:
    """Sends the e-mail of one notification unless it was sent already, and records when.

    Returns "sent", "already sent", "no address" (the recipient has no e-mail address or is
    inactive: the notification stays in the portal only) or "missing" (deleted). SMTP and
    network errors are stored on the notification and raised, for the task to retry."""
    notification = (
        Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    )
    if notification is None:
        return "missing"
    if notification.emailed_at is not None:
        return "already sent"
    if not notification.recipient.email or not notification.recipient.is_active:
        return "no address"
    try:
        notification_message(notification).send()
    except Exception as exc:
        Notification.objects.filter(pk=notification_id).update(
            email_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    Notification.objects.filter(pk=notification_id).update(
        emailed_at=timezone.now(), email_error=""
    )
    return "sent"
